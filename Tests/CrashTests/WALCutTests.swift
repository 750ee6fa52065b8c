import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// A WAL cut at any byte recovers exactly the transactions whose commit frame lies wholly
/// before the cut (WAL-1, WAL-2 in WAL/WriteAheadLog.swift).
@Suite("WAL recovery at every cut")
struct WALCutTests {
    static let pageSize = 4096
    static let walHeaderSize = WriteAheadLog.headerSize
    static let frameSize = WriteAheadLog.frameHeaderSize + pageSize

    /// The source database: its files' bytes and, for each committed transaction, the WAL size
    /// right after it and the database as it was then.
    struct Source {
        var database: [UInt8]
        var wal: [UInt8]
        /// (WAL bytes after the commit, model after the commit), in commit order. The first
        /// entry is the state before any commit (WAL size 0).
        var commits: [(walEnd: Int, model: DatabaseModel)]

        func expected(cut: Int) -> (index: Int, model: DatabaseModel) {
            let index = commits.lastIndex { $0.walEnd <= cut }!
            return (index, commits[index].model)
        }
    }

    /// Transactions of 1, 2 and 3 frames, none checkpointed, so the WAL holds all of them.
    static func buildSource() throws -> Source {
        let directory = try TemporaryDirectory("gs-walcut-source")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                mapReservation: 1 << 24)
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        var model = DatabaseModel()
        var commits: [(walEnd: Int, model: DatabaseModel)] = [(0, model)]
        // Creates trees a, b and c: header, catalog and three roots.
        try commit(engine, &model) { tx, m in
            for key in UInt64(0)..<5 {
                try tx.put(key, makeValue(tag: key, length: 30), tree: "a", model: &m)
                try tx.put(key, makeValue(tag: key + 100, length: 30), tree: "b", model: &m)
                try tx.put(key, makeValue(tag: key + 200, length: 30), tree: "c", model: &m)
            }
        }
        commits.append((fileSize(path + "-wal"), model))
        // Then small transactions touching one, two or three leaves (one frame per leaf: the
        // header does not change when no page is allocated).
        let shapes: [[String]] = [["a"], ["a", "b"], ["b"], ["a", "b", "c"], ["c"], ["a", "c"], ["b"], ["a", "b"], ["c"], ["a"]]
        for (i, trees) in shapes.enumerated() {
            try commit(engine, &model) { tx, m in
                for name in trees {
                    try tx.put(UInt64(10 + i), makeValue(tag: UInt64(1000 + i), length: 20 + i), tree: name, model: &m)
                    if i % 3 == 0 { try tx.delete(UInt64(i % 5), tree: name, model: &m) }
                }
            }
            let end = fileSize(path + "-wal")
            precondition((end - walHeaderSize) % frameSize == 0, "WAL is \(end) bytes, not whole frames")
            precondition(end - commits.last!.walEnd == trees.count * frameSize,
                         "commit \(i) wrote \((end - commits.last!.walEnd) / frameSize) frames, expected \(trees.count)")
            commits.append((end, model))
        }
        try engine.close()
        return Source(database: try readFile(path), wal: try readFile(path + "-wal"), commits: commits)
    }

    /// Writes the database and the WAL cut at `cut` into `directory`, reopens, and checks.
    static func check(_ source: Source, cut: Int, in directory: TemporaryDirectory, alsoWrite: Bool = false) throws {
        let path = directory.file("db.gsdb")
        try writeFile(path, source.database)
        try writeFile(path + "-wal", Array(source.wal[0..<cut]))
        let (index, expected) = source.expected(cut: cut)
        let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                mapReservation: 1 << 24)
        // Real files without real fsyncs (nothing here needs durability; fsyncs made it slow).
        let fileSystem = FaultyFileSystem(FaultPlan())
        let engine: StorageEngine
        do {
            engine = try StorageEngine.open(path: path, configuration: configuration, fileSystem: fileSystem)
        } catch {
            Issue.record("cut at WAL byte \(cut): open failed: \(error)")
            return
        }
        defer { try? engine.close() }
        let actual = try readDatabase(engine)
        #expect(actual == expected, "cut at WAL byte \(cut): expected the state after commit \(index) (\(difference(actual, expected)))")
        guard alsoWrite else { return }
        // The torn tail must not come back after a new commit overwrites the log from the cut.
        var model = actual
        try commit(engine, &model) { tx, m in
            try tx.put(999, makeValue(tag: UInt64(cut), length: 50), tree: "a", model: &m)
        }
        try engine.close()
        let again = try StorageEngine.open(path: path, configuration: configuration, fileSystem: fileSystem)
        defer { try? again.close() }
        let final = try readDatabase(again)
        #expect(final == model, "cut at WAL byte \(cut), then one commit: \(difference(final, model))")
    }

    @Test("every byte of the last frames, and every frame boundary before them")
    func everyCut() throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-walcut")
        defer { directory.remove() }
        let end = source.wal.count
        let framesFully = 4
        let start = end - framesFully * Self.frameSize
        #expect(source.commits.count >= 8)

        var cuts: [Int] = []
        // The empty log, a torn header, each frame boundary and a byte either side of it.
        cuts += [0, 1, 8, 16, 28, 31]
        var boundary = Self.walHeaderSize
        while boundary < start {
            cuts += [boundary - 1, boundary, boundary + 1, boundary + 24, boundary + Self.frameSize / 2]
            boundary += Self.frameSize
        }
        // Every byte of the last four frames: the last three transactions (1, 1 and 2 frames).
        cuts += Array(start...end)
        var checked = 0
        for cut in cuts where cut >= 0 && cut <= end {
            try Self.check(source, cut: cut, in: directory, alsoWrite: cut % 97 == 0 || cut == end)
            checked += 1
        }
        #expect(checked > 4 * Self.frameSize)
    }
}
