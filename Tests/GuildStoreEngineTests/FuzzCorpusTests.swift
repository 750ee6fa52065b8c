import Foundation
import Testing
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Replays every input saved under Tests/FuzzCorpus/<target>/ (the libFuzzer targets' seeds,
/// and the inputs that once crashed the engine) through the targets' own code
/// (`FuzzEntries`): each must finish with no trap and no error other than a `GuildStoreError`.
/// `scripts/fuzz` runs the targets themselves; this is their regression test.
///
/// `GUILDSTORE_FUZZ_WRITE_SEEDS=1` writes the seed inputs (small real databases and logs)
/// into the corpus instead.
@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: String) -> [URL] {
        let directory = corpus.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test("every saved input of every fuzz target runs to a GuildStoreError or success", arguments: FuzzEntries.targets)
    func replay(target: String) throws {
        if ProcessInfo.processInfo.environment["GUILDSTORE_FUZZ_WRITE_SEEDS"] != nil { try Self.writeSeeds(target) }
        let inputs = Self.inputs(target)
        #expect(inputs.count >= 2, "Tests/FuzzCorpus/\(target) holds the target's seeds")
        for input in inputs {
            let findings = FuzzEntries.run(target, Array(try Data(contentsOf: input)))
            #expect(findings.isEmpty, "\(target) input \(input.lastPathComponent): \(findings)")
        }
    }

    // MARK: Seeds

    static func writeSeeds(_ target: String) throws {
        let directory = corpus.appendingPathComponent(target)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, bytes) in try seeds(target) {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }
    }

    /// Small real databases built in memory: for page-tree their pages after the header, for
    /// wal-recover their logs (the flags byte first: 0x0F seals nothing anew, 0x00 as is).
    static func seeds(_ target: String) throws -> [(String, [UInt8])] {
        let path = FuzzEntries.databasePath
        func build(_ body: (StorageEngine) throws -> Void, checkpoint: Bool) throws -> (database: [UInt8], wal: [UInt8]) {
            let fileSystem = MemoryFileSystem()
            let configuration = EngineConfiguration(pageSize: FuzzEntries.pageSize, synchronous: .full, checkpointThreshold: 0, mapReservation: 0)
            let engine = try StorageEngine.open(path: path, configuration: configuration, fileSystem: fileSystem)
            try body(engine)
            if checkpoint { _ = try engine.checkpoint(.truncate) }
            try engine.close()
            return (fileSystem.contents(of: path) ?? [], fileSystem.contents(of: path + "-wal") ?? [])
        }
        let rawTrees: (StorageEngine) throws -> Void = { engine in
            try engine.write { tx in
                let a = try tx.createTree("a"), b = try tx.createTree("b")
                for i in UInt64(0)..<300 { try tx.put(withUnsafeBytes(of: (i * 7).bigEndian) { Array($0) }, [UInt8](repeating: UInt8(i & 0xFF), count: 30), in: a) }
                try tx.put(Array("big".utf8), [UInt8](repeating: 0xB5, count: 6000), in: b)
                try tx.put(Array("small".utf8), [], in: b)
            }
        }
        let tables: (StorageEngine) throws -> Void = { engine in
            try engine.write { tx in
                for schema in FuzzFixture.schemas { try tx.createTable(schema) }
                for id in UInt64(0)..<8 { try tx.insert(FuzzFixture.user(id), into: "users") }
                for id in UInt64(0)..<20 { try tx.insert(FuzzFixture.event(id), into: "events") }
                for key in 0..<4 { try tx.insert(FuzzFixture.setting(1, key), into: "settings") }
            }
        }
        let commits: (StorageEngine) throws -> Void = { engine in
            try rawTrees(engine)
            try engine.write { tx in
                let a = try #require(try tx.tree("a"))
                for i in UInt64(0)..<20 { _ = try tx.delete(withUnsafeBytes(of: (i * 7).bigEndian) { Array($0) }, in: a) }
            }
            try engine.write { tx in try tx.put(Array("c".utf8), Array("d".utf8), in: try tx.createTree("c")) }
        }
        switch target {
        case "page-tree":
            return try [("seed-raw-trees", rawTrees), ("seed-tables", tables)].map { name, body in
                (name, Array(try build(body, checkpoint: true).database.dropFirst(FuzzEntries.pageSize)))
            }
        case "wal-recover":
            let wal = try build(commits, checkpoint: false).wal
            return [("seed-commits-sealed", [0x0F] + wal), ("seed-commits-as-is", [0x00] + wal),
                    ("seed-header-only", [0x0F] + wal.prefix(WriteAheadLog.headerSize))]
        case "backup-read":
            // A full backup and an archived segment of a small database, decompressed.
            let fileSystem = MemoryFileSystem()
            let configuration = EngineConfiguration(pageSize: FuzzEntries.pageSize, synchronous: .full, checkpointThreshold: 0,
                                                    mapReservation: 0, archiveDirectory: "/fuzz/archive")
            let engine = try StorageEngine.open(path: path, configuration: configuration, fileSystem: fileSystem)
            try tables(engine)
            _ = try engine.writeBackup(to: "/fuzz/full.gsbackup", parent: nil)
            try commits(engine)
            _ = try engine.checkpoint(.full)
            try engine.close()
            let backup = try LZ4Frame.decompress(try #require(fileSystem.contents(of: "/fuzz/full.gsbackup")))
            let segmentPath = try #require(fileSystem.paths().first { $0.hasSuffix(WALSegment.fileExtension) })
            let segment = try LZ4Frame.decompress(try #require(fileSystem.contents(of: segmentPath)))
            return [("seed-full-sealed", [0x07] + backup), ("seed-full-as-is", [0x00] + backup),
                    ("seed-segment", [0x00] + segment), ("seed-full-file", [0x80] + (try #require(fileSystem.contents(of: "/fuzz/full.gsbackup"))))]
        default:
            return []
        }
    }
}
