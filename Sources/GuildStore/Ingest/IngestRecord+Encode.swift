import GuildStoreEngine

/// Writing a record back as one ingest line.
///
/// Invariant (IN-6): the line is stable: `"event"` first, then the record's columns in the
/// table's column order (any name not in the table after them, sorted), ids as decimal
/// strings, integers and timestamps as JSON integers, JSON columns as their text verbatim,
/// strings with only `"`, `\` and control characters escaped (everything else is raw UTF-8).
/// The same record always gives the same bytes, which is what lets the checked-in fixture be
/// compared byte for byte.
///
/// JSON values are written verbatim, so they must be valid JSON text: `parse` and
/// `FixtureGenerator` only make valid, compact, key-sorted text (which is also what IN-5 needs).
/// A record built by hand with a malformed `.json` value gives a line `parse` refuses.
extension IngestRecord {
    /// The record as one JSON line, without the trailing newline.
    package var jsonLine: String {
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
        JSONText.appendString(name, to: &out)
        out += ":"
        switch value {
        case .null: out += "null"
        case .uint(let v): out += "\"\(v)\""
        case .int(let v), .timestamp(let v): out += String(v)
        case .bool(let v): out += v ? "true" : "false"
        case .double(let v): out += v.isFinite ? "\(v)" : "null"
        case .text(let s): JSONText.appendString(s, to: &out)
        case .json(let s): out += s
        case .bytes(let b): JSONText.appendString(b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(), to: &out)
        }
    }
}
