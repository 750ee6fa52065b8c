import Foundation

/// The machine a report was measured on: absolute times mean little without it (ratios from
/// one run are the figures to compare).
package struct MachineDescription: Sendable, Hashable, Codable {
    /// `model name` from /proc/cpuinfo (`unknown` where there is none).
    package var cpuModel: String
    /// Processors this process may use.
    package var cores: Int
    package var memoryBytes: UInt64
    /// The file system holding the databases (`ext4`, `overlay`, `tmpfs`, ...) and where it
    /// is mounted.
    package var filesystem: String
    package var mountPoint: String
    /// `uname`: system, release, machine.
    package var operatingSystem: String

    package init(cpuModel: String, cores: Int, memoryBytes: UInt64, filesystem: String, mountPoint: String, operatingSystem: String) {
        self.cpuModel = cpuModel
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.filesystem = filesystem
        self.mountPoint = mountPoint
        self.operatingSystem = operatingSystem
    }

    /// This machine, with the file system of `directory`.
    package static func current(directory: String) -> MachineDescription {
        let (filesystem, mountPoint) = Self.filesystem(of: directory)
        return MachineDescription(cpuModel: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
                                  memoryBytes: ProcessInfo.processInfo.physicalMemory, filesystem: filesystem,
                                  mountPoint: mountPoint, operatingSystem: operatingSystem())
    }

    /// One line: `AMD EPYC 7B13, 2 cores, 23.4 GiB, ext4 (/)`.
    package var summary: String {
        String(format: "%@, %d cores, %.1f GiB memory, %@ at %@, %@", cpuModel, cores, Double(memoryBytes) / 1_073_741_824,
               filesystem, mountPoint, operatingSystem)
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// The type and mount point of the file system holding `directory`: the longest mount
    /// point in /proc/mounts that contains the directory's real path.
    static func filesystem(of directory: String) -> (type: String, mountPoint: String) {
        let path = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return ("unknown", "") }
        var best: (type: String, mountPoint: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Spaces and tabs in mount points are written as octal escapes.
            let mountPoint = String(fields[1]).replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            let contains = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.mountPoint.count ?? -1) {
                best = (String(fields[2]), mountPoint)
            }
        }
        return best ?? ("unknown", "")
    }

    static func operatingSystem() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return "\(text(name.sysname)) \(text(name.release)) \(text(name.machine))"
    }
}
