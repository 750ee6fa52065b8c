import Logging
import GuildStoreEngine

/// A swift-log handler that keeps every message, for tests that assert what was logged.
package struct CapturingLogHandler: LogHandler {
    package final class Store: Sendable {
        private let entries = Locked<[(level: Logger.Level, message: String)]>([])

        package init() {}

        package var messages: [(level: Logger.Level, message: String)] { entries.withLock { $0 } }

        /// Forgets every message so far.
        package func clear() {
            entries.withLock { $0.removeAll() }
        }

        func append(_ level: Logger.Level, _ message: String) {
            entries.withLock { $0.append((level, message)) }
        }
    }

    package let store: Store
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .trace

    package init(store: Store) { self.store = store }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        store.append(event.level, event.message.description)
    }

    /// A logger writing into a new store.
    package static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}
