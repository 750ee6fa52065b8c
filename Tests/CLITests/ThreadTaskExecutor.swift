import Foundation

/// A task executor with a thread of its own: the jobs of a task that prefers it
/// (`withTaskExecutorPreference`) run there in the order they come, never queued behind the
/// cooperative pool, which the suite's other tests can keep busy for minutes on a loaded
/// 2-core machine. For a test whose task must be resumed promptly each time it waits.
final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    // Safe to share: `jobs` and `stopped` are read and written only with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    /// Starts the thread; it runs until `stop()` and the jobs enqueued before it.
    init() {
        Thread { [self] in run() }.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs already enqueued have run.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
