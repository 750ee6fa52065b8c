import Foundation
import Testing
@testable @_spi(Benchmarks) import GuildStore

/// `Fixtures/small.jsonl` is the small profile with the default seed, one `jsonLine` per record
/// and a newline after each. Any change to the generator that changes a byte fails here: if
/// the change is intended, regenerate the file with
/// `GUILDSTORE_REGENERATE_FIXTURES=1 swift test --filter FixtureFileTests` and commit it.
@Suite("Checked-in fixture")
struct FixtureFileTests {
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/small.jsonl")

    static func generated() throws -> Data {
        var text = ""
        for record in try FixtureGenerator(profile: .small) {
            text += record.jsonLine
            text += "\n"
        }
        return Data(text.utf8)
    }

    static let regenerating = ProcessInfo.processInfo.environment["GUILDSTORE_REGENERATE_FIXTURES"] == "1"

    @Test("Fixtures/small.jsonl is exactly what the small profile generates")
    func matchesGenerator() throws {
        let expected = try Self.generated()
        if Self.regenerating {
            try expected.write(to: Self.url, options: .atomic)
        }
        let stored = try Data(contentsOf: Self.url)
        #expect(stored.count < 2_000_000)
        if stored != expected {
            let storedLines = String(decoding: stored, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let expectedLines = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(storedLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }
            Issue.record("""
                Fixtures/small.jsonl differs from the generator (\(stored.count) vs \(expected.count) bytes); \
                first difference at line \(first.map { "\($0.offset + 1)" } ?? "end"). \
                If the generator change is intended: GUILDSTORE_REGENERATE_FIXTURES=1 swift test --filter FixtureFileTests
                """)
        }
    }

    @Test("every line of the fixture parses back to the generated record")
    func parsesBack() throws {
        // While regenerating, the file may be rewritten under this test: parse what is written.
        let text = Self.regenerating ? String(decoding: try Self.generated(), as: UTF8.self) : try String(contentsOf: Self.url, encoding: .utf8)
        let lines = text.split(separator: "\n")
        let records = Array(try FixtureGenerator(profile: .small))
        #expect(lines.count == records.count)
        for (i, (line, record)) in zip(lines, records).enumerated() {
            #expect(try IngestRecord.parse(line, lineNumber: i + 1) == record)
        }
    }
}
