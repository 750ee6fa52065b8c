import GuildStoreEngine

/// One row to write, as read from (or written to) one line of the ingest format.
///
/// The ingest format is JSON lines, one object per line; `guildstore ingest` reads it from
/// stdin and `Fixtures/small.jsonl` is written in it:
///
///     {"event":"guild","id":"81384788765712384","name":"Mocha ☕","owner_id":"80351110224678912","is_active":true}
///     {"event":"message","id":"1123…","guild_id":"8138…","channel_id":"…","user_id":"…","character_count":42,"created_at":1748000000}
///
/// `"event"` names the kind (`IngestKind`); every other key is a column of that kind's table,
/// in seed 004's snake_case names. Values by column type: ids (`uint`) as decimal strings or
/// JSON integers (0 ... 18446744073709551615, parsed exactly); `int` and `timestamp` as JSON
/// integers (timestamps in seconds since 1970); `bool` as true/false or 0/1; `text` as
/// strings; `json` (`roles`, `required_reactions`) as a JSON array or object, stored as its
/// compact text with sorted keys; `null` for nullable columns. Omitted columns take the
/// table's default.
///
/// Invariants:
/// - (IN-4) A record parsed from a line names only columns of `kind.table`, every value fits
///   its column's type, and every required column is present: `apply(to:)` can fail only on
///   the database's own constraints (duplicate event id, missing parent row).
/// - (IN-5) `IngestRecord.parse(r.jsonLine, lineNumber:) == r` for every record that satisfies
///   IN-4 and whose JSON texts are compact with sorted keys (what `parse` and
///   `FixtureGenerator` produce).
@_spi(Benchmarks) public struct IngestRecord: Sendable, Hashable, CustomStringConvertible {
    package var kind: IngestKind
    /// Column name to value; columns left out take their default when applied.
    package var values: [String: Value]

    package init(_ kind: IngestKind, _ values: [String: Value]) {
        self.kind = kind
        self.values = values
    }

    /// Writes the record: an upsert for entity kinds, an insert for events (IN-3). Throws the
    /// table layer's `GuildStoreError` (`uniqueViolation` for a duplicate event id,
    /// `foreignKeyViolation` for a missing guild, user or channel, ...).
    package func apply(to tx: WriteTransaction) throws {
        try tx.insert(values, into: kind.table.name, onConflict: kind.conflictPolicy)
    }

    /// The record's primary key as the operator reads it (`guildstore ingest` prints
    /// `ok KEY`): the id, or seed 004's `guild_id:user_id` for a member; `?` for a key column
    /// the record leaves out.
    package var keyText: String {
        kind.table.primaryKey.map { column in
            switch values[column] {
            case .uint(let id)?: String(id)
            case let value?: value.description
            case nil: "?"
            }
        }.joined(separator: ":")
    }

    @_spi(Benchmarks) public var description: String { jsonLine }
}
