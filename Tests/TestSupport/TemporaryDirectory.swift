import Foundation

/// A fresh directory under the system's temporary folder, removed by `remove()`.
package struct TemporaryDirectory: Sendable {
    package let path: String

    package init(_ label: String = "guildstore") throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    package func file(_ name: String) -> String { path + "/" + name }

    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Big-endian bytes of an integer: keys that sort with memcmp as the integers do.
package func bigEndianKey(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}
