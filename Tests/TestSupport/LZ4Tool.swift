import Foundation

/// Whether the Debian `lz4` tool (`lz4 -t`, installed by the test script) accepts the file as
/// a whole LZ4 frame whose checksums hold.
package func lz4ToolAccepts(_ path: String) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["lz4", "-t", path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}
