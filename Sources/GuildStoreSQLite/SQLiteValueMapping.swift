import GuildStoreEngine

/// How one value crosses between an SQLite file and a GuildStore column, by the column's type.
///
///     our type    the file holds (import accepts)                    export writes
///     uint (id)   TEXT canonical decimal, or INTEGER >= 0            TEXT decimal / INTEGER (< 2^63)
///     timestamp   INTEGER seconds, or TEXT of decimal digits         INTEGER seconds
///     bool        INTEGER 0 or 1                                     INTEGER 0 or 1
///     int         INTEGER                                            INTEGER
///     double      REAL or INTEGER                                    REAL
///     text, json  TEXT                                               TEXT
///     bytes       BLOB                                               BLOB
///
/// Anything else is an error naming the row and column, never a guess. NULL is kept where
/// our column is nullable; where it is NOT NULL with a default, NULL takes the default (a
/// Drizzle `integer('message_type').default(0)` column may hold NULL, ours may not); where it
/// is NOT NULL without one, NULL is `missingValue`.
///
/// Canonical decimal (SQV-1): ASCII digits without sign, spaces or leading zeros ("0" itself
/// is fine), at most `UInt64.max`. Stricter than SQLite's `CAST`, so two different texts never
/// become one id and export writes back the very text it read.
enum SQLiteValueMapping {
    /// The id `text` spells, if it is canonical decimal (SQV-1).
    static func parseID(_ text: String) -> UInt64? {
        let digits = text.utf8
        guard let first = digits.first, first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The value to insert for `column`, or nil to leave it out so its default applies.
    static func importValue(_ value: SQLiteValue, for column: ColumnDefinition, row: @autoclosure () -> SourceRow) throws -> Value? {
        func invalid(_ expected: String) -> GuildSQLiteError {
            .invalidValue(row(), column: column.name, expected: expected, found: value.description)
        }
        if case .null = value {
            if column.nullable { return .null }
            if column.defaultValue != nil { return nil }
            throw GuildSQLiteError.missingValue(row(), column: column.name)
        }
        switch column.type {
        case .uint:
            switch value {
            case .integer(let v) where v >= 0: return .uint(UInt64(v))
            case .text(let s): if let id = parseID(s) { return .uint(id) }
            default: break
            }
            throw GuildSQLiteError.invalidID(row(), column: column.name, found: value.description)
        case .timestamp:
            switch value {
            case .integer(let v): return .timestamp(v)
            case .text(let s): if let seconds = parseSeconds(s) { return .timestamp(seconds) }
            default: break
            }
            throw invalid("whole seconds since 1970")
        case .bool:
            if case .integer(let v) = value, v == 0 || v == 1 { return .bool(v == 1) }
            throw invalid("a boolean 0 or 1")
        case .int:
            if case .integer(let v) = value { return .int(v) }
            throw invalid("an integer")
        case .double:
            switch value {
            case .real(let v): return .double(v)
            case .integer(let v): return .double(Double(v))
            default: throw invalid("a number")
            }
        case .text:
            if case .text(let s) = value { return .text(s) }
            throw invalid("text")
        case .json:
            if case .text(let s) = value { return .json(s) }
            throw invalid("JSON text")
        case .bytes:
            if case .blob(let b) = value { return .bytes(b) }
            throw invalid("a blob")
        }
    }

    /// Seconds written as text: an optional `-` and decimal digits that fit 64 bits.
    static func parseSeconds(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int64(text)
    }

    /// The value the export writes for one of our values.
    static func exportValue(_ value: Value, table: String, column: String, ids: IDAffinity) throws -> SQLiteValue {
        switch value {
        case .null: return .null
        case .uint(let id):
            switch ids {
            case .text: return .text(String(id))
            case .integer:
                guard let integer = Int64(exactly: id) else { throw GuildSQLiteError.idOutOfRange(table: table, column: column, value: id) }
                return .integer(integer)
            }
        case .int(let v), .timestamp(let v): return .integer(v)
        case .bool(let v): return .integer(v ? 1 : 0)
        case .double(let v): return .real(v)
        case .text(let s), .json(let s): return .text(s)
        case .bytes(let b): return .blob(b)
        }
    }
}
