import StorageEngine

/// Writing a record back as one ingest line.
///
/// Invariant (E1): the line is stable: `"event"` first, then the record's columns in the
/// table's column order (any name not in the table after them, sorted), ids as decimal
/// strings, integers and timestamps as JSON integers, JSON columns as their text verbatim,
/// strings with only `"`, `\` and control characters escaped (everything else is raw UTF-8).
/// The same record always gives the same bytes, which is what lets the checked-in fixture be
/// compared byte for byte.
///
/// JSON values are written verbatim, so they must be valid JSON text: `parse` and
/// `FixtureGenerator` only make valid, compact, key-sorted text (which is also what R2 needs).
/// A record built by hand with a malformed `.json` value gives a line `parse` refuses.
extension IngestRecord {
    /// The record as one JSON line, without the trailing newline.
    public var jsonLine: String {
        var out = "{\"event\":\"\(kind.rawValue)\""
        var written = 0
        for column in kind.table.columns {
            guard let value = values[column.name] else { continue }
            IngestLineWriter.field(column.name, value, into: &out)
            written += 1
        }
        if written < values.count {
            let known = Set(kind.table.columns.map(\.name))
            for name in values.keys.sorted() where !known.contains(name) {
                if let value = values[name] { IngestLineWriter.field(name, value, into: &out) }
            }
        }
        out += "}"
        return out
    }
}

enum IngestLineWriter {
    static func field(_ name: String, _ value: Value, into out: inout String) {
        out += ","
        string(name, into: &out)
        out += ":"
        switch value {
        case .null: out += "null"
        case .uint(let v): out += "\"\(v)\""
        case .int(let v), .timestamp(let v): out += String(v)
        case .bool(let v): out += v ? "true" : "false"
        case .double(let v): out += v.isFinite ? "\(v)" : "null"
        case .text(let s): string(s, into: &out)
        case .json(let s): out += s
        case .bytes(let b): string(b.map { String($0, radix: 16) }.joined(), into: &out)
        }
    }

    /// A JSON string literal: escapes `"`, `\` and U+0000...U+001F; leaves the rest as is.
    static func string(_ s: String, into out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
