import Foundation
import GuildStore

/// A JSON value whose objects keep their keys in the order given, so results print with the
/// SQL's column order. Ids are written as decimal strings (JSON numbers lose precision past
/// 2^53 in most readers); counts and timestamps as integers.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.text == b.text }

    /// An id, as a decimal string.
    static func id(_ value: UInt64) -> JSONValue { .string(String(value)) }
    static func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    static func optional(_ value: Int64?) -> JSONValue { value.map { .int($0) } ?? .null }
    static func optional(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }

    /// Compact JSON text.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            // JSON has no NaN or infinity.
            out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONText.appendString(s, to: &out)
        case .array(let values):
            out += "["
            for (i, value) in values.enumerated() {
                if i > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONText.appendString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// The value as a cell of a text table.
    var cell: String {
        switch self {
        case .null: "NULL"
        case .string(let s): s
        case .double(let d): String(format: "%.3f", d)
        default: text
        }
    }
}
