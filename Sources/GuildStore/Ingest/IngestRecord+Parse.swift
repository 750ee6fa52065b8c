import Foundation
import GuildStoreEngine

/// Reading one ingest line (see `IngestRecord` for the format).
///
/// Foundation's `JSONSerialization` does the JSON; numbers are then taken from the `NSNumber`
/// it returns by their exact stored type (`UInt64`, `Int64` or an `NSDecimalNumber`'s decimal
/// text), never through `Double`, so snowflakes above 2^53 keep every digit (invariant IN-1).
/// Booleans are told apart from the integers 0 and 1 by their `NSNumber` type, so `true`
/// is not an integer and `1` is a boolean only where a boolean is expected.
extension IngestRecord {
    /// Parses one line. `lineNumber` (1-based) goes into every error.
    package static func parse(_ line: some StringProtocol, lineNumber: Int) throws(IngestError) -> IngestRecord {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [])
        } catch {
            throw IngestError(line: lineNumber, .badJSON(line.allSatisfy(\.isWhitespace) ? "empty line" : "not valid JSON"))
        }
        guard let fields = object as? [String: Any] else {
            throw IngestError(line: lineNumber, .badJSON("not a JSON object"))
        }
        guard let eventName = fields["event"] as? String else { throw IngestError(line: lineNumber, .missingEvent) }
        guard let kind = IngestKind(rawValue: eventName) else { throw IngestError(line: lineNumber, .unknownEvent(eventName)) }
        let columns = IngestColumns.byKind[kind] ?? [:]
        var values: [String: Value] = [:]
        // Sorted, so a line with several problems always reports the same one first.
        for name in fields.keys.sorted() where name != "event" {
            guard let column = columns[name] else { throw IngestError(line: lineNumber, .unknownColumn(event: kind, column: name)) }
            guard let raw = fields[name] else { continue }
            do throws(IngestValueError) {
                values[name] = try IngestValueParser.value(raw, for: column)
            } catch {
                throw IngestError(line: lineNumber, .wrongType(column: name, expected: error.expected, found: error.found))
            }
        }
        for name in IngestColumns.required[kind] ?? [] where values[name] == nil {
            throw IngestError(line: lineNumber, .missingColumn(event: kind, column: name))
        }
        return IngestRecord(kind, values)
    }
}

/// Each kind's columns by name and its required columns, computed once rather than per line.
enum IngestColumns {
    static let byKind: [IngestKind: [String: ColumnDefinition]] = Dictionary(uniqueKeysWithValues: IngestKind.allCases.map { kind in
        (kind, Dictionary(kind.table.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))
    })
    static let required: [IngestKind: [String]] = Dictionary(uniqueKeysWithValues: IngestKind.allCases.map { ($0, $0.requiredColumns) })
}

/// A value that does not fit its column: what was expected and what was found.
struct IngestValueError: Error {
    var expected: String
    var found: String
}

/// Converts one `JSONSerialization` value to a column's `Value`.
///
/// Invariant (IN-1): an integer is read from the number's exact representation; a value that
/// is fractional, in exponent form, negative where an id is expected, or outside the
/// column's range is refused, never rounded or wrapped.
enum IngestValueParser {
    static func value(_ raw: Any, for column: ColumnDefinition) throws(IngestValueError) -> Value {
        if raw is NSNull {
            guard column.nullable else { throw IngestValueError(expected: expected(column.type), found: "null (the column is NOT NULL)") }
            return .null
        }
        switch column.type {
        case .uint:
            if let text = raw as? String {
                guard let id = decimalUInt64(text) else { throw IngestValueError(expected: expected(.uint), found: "the string \(quoted(text))") }
                return .uint(id)
            }
            switch integer(raw) {
            case .unsigned(let v): return .uint(v)
            case .signed(let v) where v >= 0: return .uint(UInt64(v))
            case .signed(let v): throw IngestValueError(expected: expected(.uint), found: "the negative number \(v)")
            case .notInteger(let found): throw IngestValueError(expected: expected(.uint), found: found)
            }
        case .int, .timestamp:
            switch integer(raw) {
            case .signed(let v): return column.type == .int ? .int(v) : .timestamp(v)
            case .unsigned(let v): throw IngestValueError(expected: expected(column.type), found: "\(v), beyond Int64")
            case .notInteger(let found): throw IngestValueError(expected: expected(column.type), found: found)
            }
        case .bool:
            if let number = raw as? NSNumber, isBoolean(number) { return .bool(number.boolValue) }
            switch integer(raw) {
            case .signed(0), .unsigned(0): return .bool(false)
            case .signed(1), .unsigned(1): return .bool(true)
            case .signed(let v): throw IngestValueError(expected: expected(.bool), found: "the number \(v)")
            case .unsigned(let v): throw IngestValueError(expected: expected(.bool), found: "the number \(v)")
            case .notInteger(let found): throw IngestValueError(expected: expected(.bool), found: found)
            }
        case .text:
            guard let text = raw as? String else { throw IngestValueError(expected: expected(.text), found: describe(raw)) }
            return .text(text)
        case .json:
            guard raw is [Any] || raw is [String: Any] else { throw IngestValueError(expected: expected(.json), found: describe(raw)) }
            guard let data = try? JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                throw IngestValueError(expected: expected(.json), found: "a value that cannot be written back as JSON")
            }
            return .json(String(decoding: data, as: UTF8.self))
        case .double, .bytes:
            throw IngestValueError(expected: "a column type the ingest format does not carry (\(column.type))", found: describe(raw))
        }
    }

    enum Integer {
        case signed(Int64)
        case unsigned(UInt64)
        case notInteger(String)
    }

    /// The exact integer a JSON number holds (IN-1), or what was found instead.
    static func integer(_ raw: Any) -> Integer {
        guard let number = raw as? NSNumber else { return .notInteger(describe(raw)) }
        if isBoolean(number) { return .notInteger("the boolean \(number.boolValue)") }
        if let decimal = number as? NSDecimalNumber {
            // Out of the 64-bit range (or written with a fraction): decide from its exact text.
            let text = decimal.stringValue
            if let v = UInt64(text) { return .unsigned(v) }
            if let v = Int64(text) { return .signed(v) }
            return .notInteger(text.contains(".") || text.contains("e") || text.contains("E")
                ? "the non-integer number \(text)" : "the number \(text), beyond 64 bits")
        }
        switch String(cString: number.objCType) {
        case "Q", "L", "I", "S", "C": return .unsigned(number.uint64Value)
        case "q", "l", "i", "s": return .signed(number.int64Value)
        default: return .notInteger("the non-integer number \(number.stringValue)")
        }
    }

    /// JSON `true` / `false` (Foundation's boolean `NSNumber`, type code "c").
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// A snowflake written as text: 1 to 20 ASCII digits, no sign, within UInt64.
    static func decimalUInt64(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(text)
    }

    static func expected(_ type: ColumnType) -> String {
        switch type {
        case .uint: "an id (decimal string or integer, 0 to 18446744073709551615)"
        case .int: "an integer"
        case .timestamp: "an integer timestamp (seconds since 1970)"
        case .bool: "true, false, 0 or 1"
        case .text: "a string"
        case .json: "a JSON array or object"
        case .double: "a number"
        case .bytes: "bytes"
        }
    }

    static func describe(_ raw: Any) -> String {
        switch raw {
        case let text as String: "the string \(quoted(text))"
        case let number as NSNumber where isBoolean(number): "the boolean \(number.boolValue)"
        case let number as NSNumber: "the number \(number.stringValue)"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        case is NSNull: "null"
        default: "\(type(of: raw))"
        }
    }

    static func quoted(_ text: String) -> String {
        let short = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "\"\(short)\""
    }
}
