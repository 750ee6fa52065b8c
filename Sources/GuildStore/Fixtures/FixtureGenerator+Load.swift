import GuildStoreEngine

extension FixtureGenerator {
    /// Writes every record into `database` (which must have the guild schema:
    /// `GuildDatabase.open` applies it) in transactions of `batchSize` records, and returns how
    /// many of each kind it wrote. `progress` is called after each commit with the running
    /// counts.
    ///
    /// While one batch commits on the writer actor the next one is generated on the caller's
    /// task, so the two cores work at once. A failed batch throws its `GuildStoreError` and
    /// writes nothing more; the batches committed before it stay.
    @discardableResult
    @_spi(Benchmarks) public func load(into database: Database, batchSize: Int = 10_000,
                     progress: (FixtureCounts) -> Void = { _ in }) async throws -> FixtureCounts {
        let batchSize = Swift.max(1, batchSize)
        var written = FixtureCounts()
        var iterator = makeIterator()
        var next = Self.batch(&iterator, size: batchSize)
        while !next.isEmpty {
            let batch = next
            async let commit: Void = database.write { tx in
                for record in batch { try record.apply(to: tx) }
            }
            next = Self.batch(&iterator, size: batchSize)
            try await commit
            for record in batch { written.add(record.kind) }
            progress(written)
        }
        return written
    }

    private static func batch(_ iterator: inout Iterator, size: Int) -> [IngestRecord] {
        var batch: [IngestRecord] = []
        batch.reserveCapacity(size)
        while batch.count < size, let record = iterator.next() { batch.append(record) }
        return batch
    }
}
