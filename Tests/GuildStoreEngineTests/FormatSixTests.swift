import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Header format 7 seeds page checksums with the database's identity (WALR-9). A format-6 file,
/// whose checksums are unsalted, is still read and written as it is, and a vacuum rewrites it
/// in format 7.
@Suite("Format 6 files")
struct FormatSixTests {
    static let pageSize = 4096
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 0)

    /// Rewrites the checkpointed database at `path` as format 6 would have written it: header
    /// version 6, every page sealed without salt.
    static func downgradeToFormatSix(_ path: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            base.setU32(16, 6)
            for page in 0..<(raw.count / Self.pageSize) {
                sealPage(base + page * Self.pageSize, number: UInt32(page), size: Self.pageSize, salt: 0)
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The header's version and whether every page of the file passes its checksum with `salt`.
    static func inspect(_ path: String, salt: UInt32) throws -> (version: UInt32, allPagesHold: Bool) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let holds = (0..<(raw.count / Self.pageSize)).allSatisfy {
                pageChecksumHolds(base + $0 * Self.pageSize, number: UInt32($0), size: Self.pageSize, salt: salt)
            }
            return (base.u32(16), holds)
        }
    }

    @Test("a format-6 file opens, takes commits and checkpoints as format 6, and a vacuum rewrites it as format 7")
    func formatSixKeepsItsChecksums() throws {
        let directory = try TemporaryDirectory("gs-format6")
        defer { directory.remove() }
        let path = directory.file("six.gsdb")
        var reference = ReferenceMap()
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        let tree = try engine.write { tx in try tx.createTree("t") }
        try engine.write { tx in
            for i in 0..<2000 as Range<UInt64> {
                try tx.put(bigEndianKey(i), bigEndianKey(i), in: tree)
                reference.put(bigEndianKey(i), bigEndianKey(i))
            }
        }
        let identity = try engine.read { $0.header.identity }
        _ = try engine.checkpoint(.truncate)
        try engine.close()
        try Self.downgradeToFormatSix(path)
        #expect(try Self.inspect(path, salt: 0) == (6, true))

        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.read { tx in try compareTree(tx, tree, reference, context: "format 6 as written") }
        try engine.write { tx in
            for i in stride(from: 0, to: 4000, by: 3) as StrideTo<UInt64> {
                try tx.put(bigEndianKey(i), bigEndianKey(i + 1), in: tree)
                reference.put(bigEndianKey(i), bigEndianKey(i + 1))
            }
        }
        _ = try engine.checkpoint(.truncate)
        #expect(try Self.inspect(path, salt: 0) == (6, true), "commits and checkpoints keep format 6's checksums")
        #expect(try engine.check().isOK)

        _ = try engine.vacuum()
        let salt = checksumSalt(formatVersion: 7, identity: identity)
        #expect(salt != 0)
        #expect(try Self.inspect(path, salt: salt) == (7, true), "vacuum writes format 7, sealed with the identity")
        #expect(try engine.read { $0.header.identity } == identity, "the same database")
        try engine.read { tx in try compareTree(tx, tree, reference, context: "after vacuum") }
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.read { tx in try compareTree(tx, tree, reference, context: "reopened after vacuum") }
        #expect(try engine.check().isOK)
        try engine.close()
    }
}
