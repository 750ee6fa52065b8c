extension StorageEngine {
    /// Appends a transaction's sealed pages to the WAL, syncs as `synchronous` says, and
    /// publishes them to new snapshots. Called by `WriteTransaction.commit` while it holds the
    /// writer token.
    func commit(pages: [(page: UInt32, image: PageBuffer)], header: DatabaseHeader) throws {
        if let reason = state.withLock({ $0.poisonReason }) { throw GuildStoreError.poisoned(reason: reason) }
        // E4: a failed append leaves nothing published; the next append overwrites the bytes.
        try wal.append(pages: pages, databaseSize: header.pageCount)
        var synced = false
        if configuration.synchronous == .full {
            do {
                try wal.sync()
                synced = true
            } catch {
                poison("WAL sync failed: \(error)")
                throw error
            }
        }
        state.withLock { s in
            var sequence = s.lastCommit
            // Older versions nobody can read are dropped now, so a page rewritten by every
            // commit keeps one image in memory, however long the WAL grows.
            let readerSequences = s.readers.values.map(\.sequence).sorted()
            for entry in pages {
                sequence += 1
                let frame = FrameVersions.Entry(sequence: sequence, image: entry.image)
                if var versions = s.walIndex.removeValue(forKey: entry.page) {
                    versions.entries.append(frame)
                    versions.dropUnreadable(readerSequences: readerSequences)
                    s.walIndex[entry.page] = versions
                } else {
                    s.walIndex[entry.page] = FrameVersions(entries: [frame])
                }
            }
            s.lastCommit = sequence
            s.databaseSize = header.pageCount
            s.header = header
            s.walFrames = wal.frameCount
            s.commits += 1
            if synced { s.syncs += 1 }
        }
        let threshold = configuration.checkpointThreshold
        if threshold > 0 && wal.frameCount >= threshold {
            // The commit is already durable and published; a failed automatic checkpoint is
            // retried by the next commit, and a failed sync inside it has poisoned the engine.
            _ = try? checkpointHoldingWriter(mode: .passive, timeout: .zero)
        }
    }

    func poison(_ reason: String) {
        state.withLock { s in
            if s.poisonReason == nil { s.poisonReason = reason }
        }
    }
}
