import CGuildStoreSupport
import Foundation

/// Work that runs at the lowest CPU priority, handed back to its caller by a thread of normal
/// priority (BK-8): a backup's compression and check give the CPU up at once to the writer and
/// to readers, and still use every core nothing else wants.
///
/// Two threads: the *worker* lowers its own priority (`gs_lower_thread_priority`: SCHED_IDLE,
/// else nice 19), which the threads it starts inherit, and runs `work`; the *courier*, started
/// from the caller's thread and so at the caller's priority, delivers each progress report and
/// then the result. Nothing of the caller's runs on a low-priority thread: not its progress
/// closure, and not the continuation, whose resumption may make the thread pool start a thread
/// (which on Linux inherits the priority of the thread that starts it).
///
/// ```swift
/// let info = try await LowPriorityJob.run(named: "guildstore.backup", progress: progress) { report in
///     try engine.writeBackup(to: path, parent: nil, progress: report)
/// }
/// ```
final class LowPriorityJob<Value: Sendable, Report: Sendable>: @unchecked Sendable {
    // Safe to share: `reports` and `outcome` are touched only under `condition`'s lock; the
    // worker appends and finishes, the courier takes them away.
    private let condition = NSCondition()
    private var reports: [Report] = []
    private var outcome: Result<Value, any Error>?

    static func run(named name: String, progress: (@Sendable (Report) -> Void)?,
                    _ work: @escaping @Sendable (_ report: @escaping (Report) -> Void) throws -> Value) async throws -> Value {
        let job = LowPriorityJob()
        return try await withCheckedThrowingContinuation { continuation in
            let courier = Thread {
                let worker = Thread {
                    _ = gs_lower_thread_priority()  // best effort: at worst the work runs at the caller's priority
                    let outcome = Result { try work { report in if progress != nil { job.post(report) } } }
                    job.finish(outcome)
                }
                worker.name = name
                worker.stackSize = 8 << 20  // as SnapshotCheck's thread: the check descends trees recursively
                worker.start()
                while true {
                    let (reports, outcome) = job.next()
                    for report in reports { progress?(report) }
                    if let outcome {
                        continuation.resume(with: outcome)
                        return
                    }
                }
            }
            courier.name = name + "-courier"
            courier.start()
        }
    }

    private func post(_ report: Report) {
        condition.lock()
        reports.append(report)
        condition.signal()
        condition.unlock()
    }

    private func finish(_ result: Result<Value, any Error>) {
        condition.lock()
        outcome = result
        condition.signal()
        condition.unlock()
    }

    /// Waits for reports or the outcome; the reports come first, in the order they were posted.
    private func next() -> (reports: [Report], outcome: Result<Value, any Error>?) {
        condition.lock()
        defer { condition.unlock() }
        while reports.isEmpty && outcome == nil { condition.wait() }
        let taken = reports
        reports.removeAll()
        return (taken, taken.isEmpty ? outcome : nil)
    }
}
