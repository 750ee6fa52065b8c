import Logging
import GuildStoreEngine

/// A swift-log handler that keeps every message, for tests that assert what was logged.
public struct CapturingLogHandler: LogHandler {
    public final class Store: Sendable {
        private let entries = Locked<[(level: Logger.Level, message: String)]>([])

        public init() {}

        public var messages: [(level: Logger.Level, message: String)] { entries.withLock { $0 } }

        /// Forgets every message so far.
        public func clear() {
            entries.withLock { $0.removeAll() }
        }

        func append(_ level: Logger.Level, _ message: String) {
            entries.withLock { $0.append((level, message)) }
        }
    }

    public let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(store: Store) { self.store = store }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        store.append(event.level, event.message.description)
    }

    /// A logger writing into a new store.
    public static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}
