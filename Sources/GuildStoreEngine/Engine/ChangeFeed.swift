/// One committed transaction as observers see it (`Database.changes(in:)`).
///
/// ```swift
/// for await change in db.changes(in: ["message_events"]) {
///     print(change.tables, change.sequence)
/// }
/// ```
public struct ChangeSet: Sendable, Equatable {
    /// The trees the transaction wrote (put, delete, clear, create, drop): a table's rows are
    /// tree `table:NAME`, its indexes `index:NAME.INDEX` (`TableSchema.rowTreeName`).
    package var trees: Set<String>
    /// The commit's position: the global sequence of its last WAL frame. Increases with every
    /// commit, across WAL restarts.
    public var sequence: UInt64

    /// The tables whose rows the transaction inserted, updated or deleted (cascades and
    /// migrations included), or created.
    public var tables: Set<String> { Set(trees.compactMap(TableSchema.tableName(ofRowTree:))) }
}

/// A subscriber: the stream it feeds and the trees it cares about (nil: all).
struct ChangeObserver {
    let trees: Set<String>?
    let continuation: AsyncStream<ChangeSet>.Continuation

    func deliver(_ changes: ChangeSet) {
        if let trees, trees.isDisjoint(with: changes.trees) { return }
        continuation.yield(changes)
    }
}

extension StorageEngine {
    /// Committed change sets that touch any of `trees` (nil: every commit), delivered in
    /// commit order once each commit is published: durable as `synchronous` demands and
    /// visible to new snapshots. Rolled-back work is never delivered. The stream ends when the
    /// engine closes or the consumer stops iterating. A slow consumer keeps the newest 10,000
    /// change sets.
    package func changes(in trees: Set<String>? = nil) -> AsyncStream<ChangeSet> {
        let (stream, continuation) = AsyncStream<ChangeSet>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = state.withLock { s -> UInt64? in
            guard !s.closed else { return nil }
            let id = s.nextObserverID
            s.nextObserverID += 1
            s.observers[id] = ChangeObserver(trees: trees, continuation: continuation)
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.observers.removeValue(forKey: id) }
        }
        return stream
    }
}
