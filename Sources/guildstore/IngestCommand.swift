import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore ingest`: JSON lines on standard input (the format of `IngestRecord`), one
/// record each. Records are committed in batches of whatever has arrived (at most
/// `--batch`), each batch one durable commit (`synchronous = full`); after the commit,
/// `ok ID` is printed for each record it held, in input order, and standard output is
/// flushed, so a producer may treat `ok` as "on disk". Memory stays flat whatever the input's
/// size: at most `--batch` lines wait to be committed beside the batch being committed, and
/// reading stops (the producer blocks on the pipe) until the commit takes them (`LineReader`).
///
/// A malformed line (bad JSON, unknown kind or column, wrong type) and a record the database
/// refuses (a duplicate event id, a missing guild / user / channel) are reported on standard
/// error with the line number and skipped; the refused statement leaves no trace and the
/// rest of its batch commits. The exit status is 1 when any line was skipped.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Write JSON-lines records from standard input.",
        discussion: creatingDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "At most this many records per commit, and lines read ahead of the commit.") var batch: Int = 1_000

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        let reader = LineReader(capacity: batch)
        let skipped = try await withStore(database, .create, synchronous: .full) { store in
            var skipped = 0
            while true {
                let lines = try await reader.next()
                if lines.isEmpty { break }
                var records: [(line: Int, record: IngestRecord)] = []
                for (number, text) in lines where !text.allSatisfy(\.isWhitespace) {
                    do {
                        records.append((number, try IngestRecord.parse(text, lineNumber: number)))
                    } catch {
                        report("\(error)")
                        skipped += 1
                    }
                }
                let toApply = records
                let outcome = try await store.database.write { tx in
                    var applied: [String] = []
                    var refused: [String] = []
                    for (line, record) in toApply {
                        do {
                            try record.apply(to: tx)
                            applied.append(record.keyText)
                        } catch let error as GuildStoreError where error.isRefusedStatement {
                            // A refused statement writes nothing (Table+Write): the batch goes on.
                            refused.append("line \(line): \(error)")
                        }
                    }
                    return (applied, refused)
                }
                for message in outcome.1 { report(message) }
                skipped += outcome.1.count
                if !outcome.0.isEmpty {
                    print(outcome.0.map { "ok \($0)" }.joined(separator: "\n"))
                    fflush(nil)  // every output stream: `stdout` is not concurrency-safe to name
                }
            }
            return skipped
        }
        if skipped > 0 {
            report("\(skipped) line\(skipped == 1 ? "" : "s") skipped")
            throw ExitCode.failure
        }
    }
}

extension GuildStoreError {
    /// The statement broke a constraint or did not fit the schema: the statement alone failed
    /// and wrote nothing; the transaction can go on.
    var isRefusedStatement: Bool {
        switch self {
        case .uniqueViolation, .foreignKeyViolation, .foreignKeyRestricted, .columnTypeMismatch, .missingValue,
             .unknownColumn, .keyTooLarge, .valueTooLarge: true
        default: false
        }
    }
}

/// Writes a line to standard error.
func report(_ message: String) {
    FileHandle.standardError.write(Data("guildstore: \(message)\n".utf8))
}
