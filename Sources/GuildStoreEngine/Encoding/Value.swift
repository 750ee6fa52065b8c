/// The type of a table column. A column has exactly one type; any column may also hold NULL
/// (whether it may is the catalog's NOT NULL constraint, not the encoding's concern).
///
/// Raw values are stable codes the catalog stores on disk: never renumber a case, only add.
///
///     type       Swift payload  holds
///     int        Int64          counts, signed quantities; Int, Int32, ... widen to Int64
///     uint       UInt64         Discord snowflake ids (never as text: docs/file-format.md)
///     double     Double         averages, ratios
///     bool       Bool           flags such as `is_active`
///     text       String         names, nicknames, message content (UTF-8)
///     bytes      [UInt8]        opaque blobs
///     timestamp  Int64          whole seconds since 1970-01-01 00:00:00 UTC (may be negative)
///     json       String         JSON text such as a member's role array, stored as written
///
/// ```swift
/// ColumnDefinition("id", .uint)
/// ColumnDefinition("roles", .json, nullable: true)
/// ```
public enum ColumnType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case int = 1
    case uint = 2
    case double = 3
    case bool = 4
    case text = 5
    case bytes = 6
    case timestamp = 7
    case json = 8

    public var description: String {
        switch self {
        case .int: "int"
        case .uint: "uint"
        case .double: "double"
        case .bool: "bool"
        case .text: "text"
        case .bytes: "bytes"
        case .timestamp: "timestamp"
        case .json: "json"
        }
    }
}

/// One column value.
///
/// JSON is kept as its text (`json(String)`), exactly as the caller wrote it: not validated,
/// not canonicalized. The seeds keep JSON in text columns (SQLite) or `json` columns that a
/// bot reads back as text (PostgreSQL), and `JSONEncoder` output converts to a `String` without
/// loss. Two JSON values are equal when their texts are byte for byte equal.
///
/// ## Equality and order
///
/// `==`, `hash(into:)` and `<` follow one total order, the one `TupleEncoding` realises with
/// memcmp, so "equal values" and "equal index keys" are the same thing (a unique index cannot
/// hold two keys whose values compare equal):
///
/// 1. NULL sorts before every other value and equals NULL (unlike SQL's three-valued logic,
///    and like SQLite's index order: NULLs first ascending, last descending).
/// 2. Values of different types order by type rank, lowest first:
///    bool < int < uint < timestamp < double < text < bytes < json.
///    A column has one type, so this only matters for values compared outside a column; in
///    particular `.int(1) != .uint(1)` and `.int(5) < .uint(0)`.
/// 3. Within a type:
///    - int, uint, timestamp: numerically.
///    - bool: false < true.
///    - double: numerically, with -0.0 == 0.0; every NaN equals every other NaN and sorts
///      after +infinity. (IEEE `==` says NaN != NaN, which would break `Hashable`.)
///    - text, json: by UTF-8 bytes, which is Unicode scalar (code point) order: a binary
///      collation like SQLite's BINARY. This is NOT Swift's `String ==`, which treats
///      canonically equivalent strings ("é" precomposed and "e" + U+0301) as equal; here they
///      are different values, because their stored bytes differ.
///    - bytes: lexicographically, unsigned; a prefix sorts before its extensions.
///
/// ```swift
/// try await db.write { tx in
///     try tx.insert(["id": .uint(guild), "name": "Mocha", "is_active": .bool(true)], into: "guilds")
/// }
/// ```
public enum Value: Sendable {
    case null
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case text(String)
    case bytes([UInt8])
    /// Whole seconds since 1970-01-01 00:00:00 UTC.
    case timestamp(Int64)
    /// JSON text, stored as written.
    case json(String)

    /// The value's type; nil for NULL, which belongs to every type.
    public var columnType: ColumnType? {
        switch self {
        case .null: nil
        case .int: .int
        case .uint: .uint
        case .double: .double
        case .bool: .bool
        case .text: .text
        case .bytes: .bytes
        case .timestamp: .timestamp
        case .json: .json
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// True when the value may be stored in a column of `type`: NULL or a value of that type.
    public func fits(_ type: ColumnType) -> Bool {
        guard let own = columnType else { return true }
        return own == type
    }

    /// The type's position in the cross-type order (rule 2 above); NULL is 0.
    var typeRank: Int {
        switch self {
        case .null: 0
        case .bool: 1
        case .int: 2
        case .uint: 3
        case .timestamp: 4
        case .double: 5
        case .text: 6
        case .bytes: 7
        case .json: 8
        }
    }

    /// -1, 0 or 1 as `lhs` sorts before, equal to or after `rhs` in the documented order.
    public static func compare(_ lhs: Value, _ rhs: Value) -> Int {
        switch (lhs, rhs) {
        case (.null, .null): return 0
        case (.int(let a), .int(let b)), (.timestamp(let a), .timestamp(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.uint(let a), .uint(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.bool(let a), .bool(let b)):
            return a == b ? 0 : (a ? 1 : -1)
        case (.double(let a), .double(let b)):
            return compareDoubles(a, b)
        case (.text(let a), .text(let b)), (.json(let a), .json(let b)):
            return compareUTF8(a, b)
        case (.bytes(let a), .bytes(let b)):
            return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compareKeys(pa, pb).signum() } }
        default:
            let a = lhs.typeRank, b = rhs.typeRank
            return a < b ? -1 : (a == b ? 0 : 1)
        }
    }

    /// Doubles in the documented order: -0.0 == 0.0, NaN == NaN, NaN after +infinity.
    static func compareDoubles(_ a: Double, _ b: Double) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN == b.isNaN ? 0 : (a.isNaN ? 1 : -1) }
        return a < b ? -1 : (a == b ? 0 : 1)
    }

    /// Strings by their UTF-8 bytes, with memcmp when both are stored contiguously (native
    /// Swift strings are).
    static func compareUTF8(_ a: String, _ b: String) -> Int {
        let fast: Int?? = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                compareKeys(UnsafeRawBufferPointer(pa), UnsafeRawBufferPointer(pb)).signum()
            }
        }
        if let fast, let fast { return fast }
        return compareBytes(a.utf8, b.utf8)
    }

    /// Unsigned lexicographic order; a prefix sorts first.
    static func compareBytes<A: Sequence<UInt8>, B: Sequence<UInt8>>(_ a: A, _ b: B) -> Int {
        var ia = a.makeIterator(), ib = b.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }

    /// The bit pattern a double is hashed and keyed by: +0.0 for both zeros, one quiet NaN for
    /// every NaN. Equal doubles (in the documented order) have equal canonical bits.
    @inline(__always)
    static func canonicalBits(_ d: Double) -> UInt64 {
        if d.isNaN { return Double.nan.bitPattern }
        if d == 0 { return 0 }
        return d.bitPattern
    }
}

extension Value: Hashable, Comparable {
    public static func == (lhs: Value, rhs: Value) -> Bool {
        compare(lhs, rhs) == 0
    }

    public static func < (lhs: Value, rhs: Value) -> Bool {
        compare(lhs, rhs) < 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(typeRank)
        switch self {
        case .null: break
        case .int(let v), .timestamp(let v): hasher.combine(v)
        case .uint(let v): hasher.combine(v)
        case .bool(let v): hasher.combine(v)
        case .double(let v): hasher.combine(Value.canonicalBits(v))
        case .text(let s), .json(let s):
            // By bytes, matching `==` (not String's canonical-equivalence hash).
            hasher.combine(s.utf8.count)
            let done: Void? = s.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if done == nil { Array(s.utf8).withUnsafeBytes { hasher.combine(bytes: $0) } }
        case .bytes(let b): hasher.combine(b)
        }
    }
}

extension Value: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: "NULL"
        case .int(let v): "\(v)"
        case .uint(let v): "\(v)u"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .text(let s): "\"\(s)\""
        case .bytes(let b): "x'" + b.map { String($0, radix: 16).leftPadded(2) }.joined() + "'"
        case .timestamp(let v): "@\(v)"
        case .json(let s): "json(\(s))"
        }
    }
}

/// Literals for tests and examples: `nil` is NULL, an integer literal is `.int` (write
/// `.uint(...)` for a snowflake), a float `.double`, a string `.text`.
extension Value: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByStringLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .text(value) }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

// MARK: - Optional Swift values (NULL for nil)

extension Value {
    /// `count` NULLs: the row a read decodes into. Made by appending, not with
    /// `Array(repeating:count:)`, whose buffer allocation looks the storage type's metadata up
    /// at run time on every call (about 70 ns more per array, measured).
    static func nulls(_ count: Int) -> [Value] {
        var row: [Value] = []
        row.reserveCapacity(count)
        for _ in 0..<count { row.append(.null) }
        return row
    }

    public static func optional(_ value: String?) -> Value { value.map { .text($0) } ?? .null }
    public static func optional(_ value: UInt64?) -> Value { value.map { .uint($0) } ?? .null }
    public static func optional(_ value: Int64?) -> Value { value.map { .int($0) } ?? .null }
    public static func optional(_ value: Bool?) -> Value { value.map { .bool($0) } ?? .null }
    /// A timestamp (seconds since 1970), NULL for nil.
    public static func optionalTimestamp(_ value: Int64?) -> Value { value.map { .timestamp($0) } ?? .null }
}

extension String {
    /// Whether `bytes` are UTF-8, checked without making a string.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return true }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// `bytes` as a string, or nil when they are not valid UTF-8. ASCII, the common case
    /// (statuses, event types, most names), is valid UTF-8 as it is and skips the validating
    /// decoder (which is generic, and costs a metadata lookup per call).
    static func validatingUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
        for byte in bytes where byte >= 0x80 { return String(validating: bytes, as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
