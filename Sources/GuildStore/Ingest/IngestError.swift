/// Why an ingest line was refused, and on which line.
///
/// `line` is 1-based, as the operator's editor numbers the input. Every reason names what is
/// wrong concretely enough to fix the line without reading the code: the unknown event kind,
/// the column, the type that was expected and what was found instead.
package struct IngestError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Reason: Sendable, Hashable {
        /// Not JSON, or JSON that is not one object (the detail says which).
        case badJSON(String)
        /// The object has no `"event"` key, or its value is not a string.
        case missingEvent
        /// `"event"` names no `IngestKind`.
        case unknownEvent(String)
        /// A key that is not a column of the kind's table.
        case unknownColumn(event: IngestKind, column: String)
        /// A value of the wrong JSON type or out of range for its column.
        case wrongType(column: String, expected: String, found: String)
        /// A NOT NULL column without a default is absent.
        case missingColumn(event: IngestKind, column: String)
    }

    package var line: Int
    package var reason: Reason

    package init(line: Int, _ reason: Reason) {
        self.line = line
        self.reason = reason
    }

    package var description: String {
        let what: String
        switch reason {
        case .badJSON(let detail): what = "bad JSON: \(detail)"
        case .missingEvent: what = "no \"event\" key naming the record's kind"
        case .unknownEvent(let name):
            what = "unknown event kind \"\(name)\" (expected one of \(IngestKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .unknownColumn(let event, let column): what = "unknown column \"\(column)\" for \(event) (table \(event.table.name))"
        case .wrongType(let column, let expected, let found): what = "column \"\(column)\": expected \(expected), found \(found)"
        case .missingColumn(let event, let column): what = "missing required column \"\(column)\" for \(event)"
        }
        return "line \(line): \(what)"
    }
}
