// The backup and restore pipelines the suite times, GuildStore's and SQLite's, and the file
// helpers they share. SQLite's backups are compressed by the `lz4` tool (Debian's lz4 1.9.4,
// single-threaded) with the frame settings GuildStore's `LZ4FrameWriter` uses: fast mode
// (`-1`, the level LZ4F's level 0 also maps to), linked blocks (`-BD`), 4 MB blocks (`-B7`)
// and a content checksum (the tool's default); so the two compress alike and the difference
// is the pipeline.

import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long each step of a pipeline took, in nanoseconds (reported as custom metrics).
struct PipelineSteps {
    var copy = 0
    var compress = 0
    var sync = 0
}

enum LZ4Tool {
    /// The frame settings of GuildStore's `LZ4FrameWriter` (see the file comment).
    static let compressArguments = ["-1", "-BD", "-B7", "-q", "-f"]

    static let path: String = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/lz4"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/lz4"
    }()

    static func compress(_ source: String, to target: String) throws {
        try run(compressArguments + [source, target])
    }

    static func decompress(_ source: String, to target: String) throws {
        try run(["-d", "-q", "-f", source, target])
    }

    private static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkSupport.BenchError.setup("lz4 \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

enum Files {
    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// fsync of the file and of its directory (what GuildStore's backup and restore do for theirs).
    static func sync(_ path: String) throws {
        for target in [path, (path as NSString).deletingLastPathComponent] {
            let fd = open(target, O_RDONLY)
            guard fd >= 0 else { throw BenchmarkSupport.BenchError.setup("open \(target): errno \(errno)") }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw BenchmarkSupport.BenchError.setup("fsync \(target): errno \(errno)") }
        }
    }

    static func remove(_ paths: String...) {
        for path in paths { unlink(path) }
    }

    /// A plain copy (read and write in 1 MiB pieces, as `cp` does), then `sync`.
    static func copy(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw BenchmarkSupport.BenchError.setup("open \(source): errno \(errno)") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw BenchmarkSupport.BenchError.setup("open \(target): errno \(errno)") }
        defer { close(output) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer, 1 << 20)
            guard n >= 0 else { throw BenchmarkSupport.BenchError.setup("read \(source): errno \(errno)") }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = write(output, buffer + written, n - written)
                guard w > 0 else { throw BenchmarkSupport.BenchError.setup("write \(target): errno \(errno)") }
                written += w
            }
        }
    }
}

/// SQLite's two ways to a backup file, each followed by `lz4`.
enum SQLiteBackupMethod: String, CaseIterable {
    /// `sqlite3_backup_step(backup, -1)`: every page in one step.
    case backupAPI
    /// `VACUUM INTO 'file'`: a rebuilt, defragmented copy.
    case vacuumInto

    /// Copies the database `connection` has open to `copyPath`, compresses it to `lz4Path` and
    /// syncs that; removes the uncompressed copy afterwards (untimed by the caller's choice:
    /// `steps` has the three timed steps).
    func run(_ connection: SQLiteConnection, copyPath: String, lz4Path: String) throws -> PipelineSteps {
        Files.remove(copyPath, lz4Path)
        var steps = PipelineSteps()
        var t = monotonicNanos()
        switch self {
        case .backupAPI:
            try connection.backup(to: copyPath, pagesPerStep: -1)
        case .vacuumInto:
            try connection.execute("VACUUM INTO '\(copyPath)'")
        }
        steps.copy = monotonicNanos() - t
        t = monotonicNanos()
        try LZ4Tool.compress(copyPath, to: lz4Path)
        steps.compress = monotonicNanos() - t
        t = monotonicNanos()
        try Files.sync(lz4Path)
        steps.sync = monotonicNanos() - t
        return steps
    }
}

/// SQLite's restore from an `.lz4` of its backup: decompress, then copy into place (the issue's
/// "decompressing and copying"), or decompress straight into place (`direct`, the faster way a
/// careful operator would take). Either way the file is synced at the end, as GuildStore's
/// restore syncs its result.
enum SQLiteRestoreMethod: String, CaseIterable {
    case decompressThenCopy = "lz4d+copy"
    case decompressInPlace = "lz4d"

    func run(lz4Path: String, staging: String, destination: String) throws {
        switch self {
        case .decompressThenCopy:
            try LZ4Tool.decompress(lz4Path, to: staging)
            try Files.copy(staging, to: destination)
        case .decompressInPlace:
            try LZ4Tool.decompress(lz4Path, to: destination)
        }
        try Files.sync(destination)
    }
}
