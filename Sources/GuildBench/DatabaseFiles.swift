import Foundation

/// The benchmark's own database files: a database is its file plus, beside it, `-wal` (both
/// engines name their log so) and SQLite's `-shm`.
@_spi(Benchmarks) public enum DatabaseFiles {
    /// Deletes `path` and its `-wal` and `-shm` files, where they exist.
    @_spi(Benchmarks) public static func remove(_ path: String) throws {
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            do {
                try FileManager.default.removeItem(atPath: file)
            } catch {
                throw BenchError.file(operation: "remove", path: file, reason: "\(error)")
            }
        }
    }

    /// Replaces the database at `target` with a copy of the one at `source` and of its WAL
    /// when that holds anything (no `-shm`: an open rebuilds it from the WAL). The source must
    /// be one nobody writes meanwhile.
    @_spi(Benchmarks) public static func copy(_ source: String, to target: String) throws {
        try remove(target)
        try copyFile(source, to: target)
        if StorageFootprint.size(source + "-wal") > 0 { try copyFile(source + "-wal", to: target + "-wal") }
    }

    static func copyFile(_ source: String, to target: String) throws {
        do {
            try FileManager.default.copyItem(atPath: source, toPath: target)
        } catch {
            throw BenchError.file(operation: "copy to \(target)", path: source, reason: "\(error)")
        }
    }

    /// Deletes the folder `path` and everything in it.
    @_spi(Benchmarks) public static func removeFolder(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw BenchError.file(operation: "remove", path: path, reason: "\(error)")
        }
    }

    /// Creates `path` (and its parents) unless it exists.
    @_spi(Benchmarks) public static func makeFolder(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw BenchError.file(operation: "create folder", path: path, reason: "\(error)")
        }
    }
}
