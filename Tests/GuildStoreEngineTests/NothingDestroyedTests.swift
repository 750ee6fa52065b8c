import Foundation
import Testing
import TestSupport
@testable import GuildStoreEngine

/// Issue 13, "Nothing is destroyed silently": a damaged or foreign file is refused with an
/// error naming the problem; opening never replaces or re-creates what is there.
@Suite("Nothing is destroyed silently")
struct NothingDestroyedTests {
    /// The names in `directory`, sorted.
    static func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("an existing empty database file is refused, never re-created, whatever createIfMissing says",
          arguments: [true, false])
    func emptyDatabaseFile(createIfMissing: Bool) throws {
        let directory = try TemporaryDirectory("gs-empty")
        defer { directory.remove() }
        let path = directory.file("empty.gsdb")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        do {
            let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: createIfMissing))
            try? engine.close()
            Issue.record("an empty database file opened (createIfMissing \(createIfMissing))")
        } catch let error as GuildStoreError {
            #expect(error == .emptyDatabaseFile(path: path))
            #expect(error.description == "database file \(path) is empty (0 bytes): not a GuildStore database, and not replaced")
        }
        #expect(try Self.listing(directory.path) == ["empty.gsdb"], "nothing created beside it")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty, "the file is left as it was")
    }
}
