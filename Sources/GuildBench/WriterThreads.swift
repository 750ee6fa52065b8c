import Foundation
@_spi(Benchmarks) import GuildStoreSQLite
import Synchronization

/// SQLite's concurrent writers: one OS thread per writer, each with its own connection, as a
/// multi-threaded application has them. (Not tasks: a writer blocks in SQLite's busy
/// handler and in fsync, and the cooperative pool has one thread per core.)
enum WriterThreads {
    /// How long a writer's `busy_timeout` lets SQLite wait for the write lock.
    static let busyTimeoutMilliseconds = 10_000
    /// How often an INSERT that still came back busy after its timeout is tried again.
    static let busyRetries = 100

    /// A connection and its prepared INSERT. Used by one thread at a time: made on the
    /// runner's task, then handed to its thread for the run, back after it.
    final class Writer: @unchecked Sendable {
        let connection: SQLiteConnection
        let insert: SQLiteStatement

        init(connection: SQLiteConnection, insert: SQLiteStatement) {
            self.connection = connection
            self.insert = insert
        }

        /// Runs the INSERT with `values` in a transaction of its own, `BEGIN IMMEDIATE` ...
        /// `COMMIT` (the write lock taken up front, through the busy handler, as SQLite
        /// advises for concurrent writers in WAL mode); a transaction that still came back
        /// `SQLITE_BUSY` (result code 5, with any extended code) is rolled back and tried
        /// again, up to `busyRetries` times.
        func commitRetryingBusy(_ values: [SQLiteValue]) throws {
            var attempts = 0
            while true {
                do {
                    try connection.transaction(.immediate) { try insert.run(values) }
                    return
                } catch let error as SQLiteError where error.primaryCode == 5 && attempts < WriterThreads.busyRetries {
                    if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                    attempts += 1
                }
            }
        }
    }

    /// Runs `body(writer, index)` for every writer, each on a thread of its own, all at once;
    /// returns when every one has finished, throwing the first error any of them threw.
    static func run(_ writers: [Writer], _ body: @escaping @Sendable (Writer, Int) throws -> Void) async throws {
        guard !writers.isEmpty else { return }
        let state = Progress(remaining: writers.count)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            for (index, writer) in writers.enumerated() {
                let thread = Thread {
                    var failure: (any Error)?
                    do { try body(writer, index) } catch { failure = error }
                    if let outcome = state.finished(failure) {
                        continuation.resume(with: outcome)
                    }
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }
    }

    /// Counts the threads still running and keeps the first failure.
    private final class Progress: Sendable {
        private let state: Mutex<(remaining: Int, failure: (any Error)?)>

        init(remaining: Int) {
            state = Mutex((remaining, nil))
        }

        /// One thread is done; the outcome once it was the last.
        func finished(_ failure: (any Error)?) -> Result<Void, any Error>? {
            state.withLock { state in
                state.remaining -= 1
                if state.failure == nil { state.failure = failure }
                guard state.remaining == 0 else { return nil }
                return state.failure.map { .failure($0) } ?? .success(())
            }
        }
    }
}
