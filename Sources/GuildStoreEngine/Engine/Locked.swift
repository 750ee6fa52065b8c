#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a pthread mutex. Public so tests and later layers share the one lock that
/// ThreadSanitizer understands.
///
/// The engine uses this rather than `Synchronization.Mutex` because ThreadSanitizer
/// understands pthread mutexes, while `Mutex` on Linux waits on a futex TSan cannot see, which
/// turns every access it guards into a reported race.
package final class Locked<Value>: @unchecked Sendable {
    // Safe to share: `value` is read and written only inside `lock.run`.
    private let lock = SerialLock()
    private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.run { try body(&value) }
    }
}

/// A pthread mutex that guards a stretch of work rather than a value (one checkpoint at a time,
/// one WAL sync at a time).
package final class SerialLock: @unchecked Sendable {
    // Safe to share: the mutex is only used through pthread_mutex_lock/unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    package func run<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
