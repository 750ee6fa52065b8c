@_spi(Benchmarks) import GuildStoreSQLite

/// What kind of value a result column holds, so a SQLite integer in an id column becomes the
/// same canonical value as GuildStore's `UInt64`.
@_spi(Benchmarks) public enum ColumnKind: String, Sendable, Hashable, Codable {
    /// A snowflake: `UInt64` in GuildStore, an `INTEGER` (its `Int64` bit pattern) in SQLite.
    case id
    /// Counts, sums, timestamps, booleans (0 or 1).
    case integer
    /// Averages.
    case real
    case text
}

/// One value of an answer in the form every contender's is compared in.
@_spi(Benchmarks) public enum CanonicalValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case id(UInt64)
    case integer(Int64)
    case real(Double)
    case text(String)

    @_spi(Benchmarks) public var description: String {
        switch self {
        case .null: "NULL"
        case .id(let v): "id \(v)"
        case .integer(let v): "\(v)"
        case .real(let v): "\(v)"
        case .text(let s): "'\(s)'"
        }
    }

    // Shorthands for optional typed fields.
    package static func id(_ value: UInt64?) -> CanonicalValue { value.map { .id($0) } ?? .null }
    package static func integer(_ value: Int64?) -> CanonicalValue { value.map { .integer($0) } ?? .null }
    package static func integer(_ value: Bool) -> CanonicalValue { .integer(value ? 1 : 0) }
    package static func real(_ value: Double?) -> CanonicalValue { value.map { .real($0) } ?? .null }
    package static func text(_ value: String?) -> CanonicalValue { value.map { .text($0) } ?? .null }

    /// `value` from a SQLite column of `kind`. A storage class that does not fit the kind (a
    /// real in an id column, a blob anywhere) is `BenchError.unexpectedSQLiteValue`: it is a
    /// wrong answer, not something to convert away.
    package init(sqlite value: SQLiteValue, kind: ColumnKind) throws {
        switch (kind, value) {
        case (_, .null): self = .null
        case (.id, .integer(let v)): self = .id(UInt64(bitPattern: v))
        case (.integer, .integer(let v)): self = .integer(v)
        // SQLite's AVG of integers is a real; an average of whole numbers may still come back
        // as an integer from other expressions, so a real column takes both.
        case (.real, .real(let v)): self = .real(v)
        case (.real, .integer(let v)): self = .real(Double(v))
        case (.text, .text(let s)): self = .text(s)
        default: throw BenchError.unexpectedSQLiteValue(kind: kind.rawValue, value: value.description)
        }
    }
}

/// One row of an answer: values in the SQL's column order.
@_spi(Benchmarks) public struct CanonicalRow: Sendable, Hashable, CustomStringConvertible {
    package var values: [CanonicalValue]

    @_spi(Benchmarks) public init(_ values: [CanonicalValue]) {
        self.values = values
    }

    /// A SQLite row, column `i` read as `kinds[i]`; a row of another width is
    /// `BenchError.unexpectedColumnCount`.
    package init(sqlite row: [SQLiteValue], kinds: [ColumnKind]) throws {
        guard row.count == kinds.count else { throw BenchError.unexpectedColumnCount(expected: kinds.count, actual: row.count) }
        values = try zip(row, kinds).map { try CanonicalValue(sqlite: $0, kind: $1) }
    }

    @_spi(Benchmarks) public var description: String {
        "(" + values.map(\.description).joined(separator: ", ") + ")"
    }
}
