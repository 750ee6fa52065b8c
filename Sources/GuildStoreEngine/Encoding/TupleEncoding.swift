/// Order-preserving encoding of a tuple of values: a composite B+tree key whose memcmp order
/// (`compareKeys`) is the tuple's typed order, so a `(guild_id, created_at)` index range scan
/// is one cursor walk.
///
/// A key is the concatenation of its elements' encodings, nothing before or after. Each element
/// is a type tag byte and a type-specific payload, all integers big-endian:
///
///     element    tag   size   payload (ascending)
///     NULL       0x05     1   none
///     bool       0x08     2   0x00 false, 0x01 true
///     int        0x0A-1A 1-9  variable length (below), zero tag 0x12
///     uint       0x1C-24 1-9  tag 0x1C + n, then the n significant bytes (n = 0 for zero)
///     timestamp  0x26-36 1-9  Int64 seconds, as int with zero tag 0x2E
///     double     0x38     9   IEEE 754 bits of the canonical value (+0.0 for -0.0, one quiet
///                             NaN 0x7FF8_0000_0000_0000 for every NaN), then the sign bit
///                             flipped when clear, every bit flipped when set
///     text       0x40   2+   UTF-8 bytes with each 0x00 written 0x00 0xFF, then 0x00 0x00
///     bytes      0x48   2+   the bytes, escaped and terminated as text
///     json       0x50   2+   the JSON text's UTF-8, escaped and terminated as text
///
/// Variable-length integers: a uint's n significant bytes (0-8), big-endian, after tag
/// `base + n`, so a longer number sorts after a shorter one and equal lengths compare
/// bytewise. A signed value v >= 0 is the same with tag `zero + n`; v < 0 with magnitude |v|
/// of n significant bytes (1-8) has tag `zero - n` and the one's complement of |v| in those
/// n bytes, so larger magnitudes (longer, or bytewise larger) sort lower. The tag alone gives
/// the element's length.
///
/// A DESCENDING element is its ascending encoding with every byte (tag, payload, terminator)
/// inverted (XOR 0xFF), so it sorts in reverse; NULLs then sort last, as in SQLite.
///
/// A column has one type. Integers of every width go in as `.int(Int64)` or `.uint(UInt64)`
/// and compare correctly within their column; values of different types in one position order
/// by tag, the cross-type rank `Value` documents.
///
/// Invariants:
/// (TE-1) Element encodings are prefix-free: no element's encoding is a proper prefix of another
///      one's in the same direction (tags differ, fixed widths are equal, and a string body
///      never contains its terminator 0x00 0x00, since every body 0x00 is followed by 0xFF).
///      So memcmp of two keys is decided inside the first element where they differ.
/// (TE-2) Within an element, memcmp order is `Value.compare` order: the sign-flipped integers
///      variable-length integers compare by tag (length and sign), then
///      as big-endian numbers of that length; transformed doubles compare as unsigned big-endian words; in a string the
///      terminator 0x00 0x00 is below both any nonzero byte and the escape 0x00 0xFF, so a
///      prefix sorts before its extensions. Inverting every byte reverses memcmp order.
///      With (TE-1), memcmp(enc(a), enc(b)) has the sign of the typed lexicographic comparison
///      of tuples a and b (descending elements reversed), where a proper prefix sorts first.
/// (TE-3) Values equal under `Value.==` encode to equal bytes: doubles are canonicalized before
///      encoding. Decoding gives back an equal `Value`, with -0.0 as +0.0 and every NaN as the
///      canonical one.
@_spi(Benchmarks) public enum TupleEncoding {
    // Tags, in cross-type rank order (see `Value.typeRank`).
    static let nullTag: UInt8 = 0x05
    static let boolTag: UInt8 = 0x08
    /// Signed integers: tags `intZero - 8 ... intZero + 8`.
    static let intZero: UInt8 = 0x12
    /// Unsigned integers: tags `uintBase ... uintBase + 8`.
    static let uintBase: UInt8 = 0x1C
    /// Timestamps: tags `timestampZero - 8 ... timestampZero + 8`.
    static let timestampZero: UInt8 = 0x2E
    static let doubleTag: UInt8 = 0x38
    static let textTag: UInt8 = 0x40
    static let bytesTag: UInt8 = 0x48
    static let jsonTag: UInt8 = 0x50

    /// The tag of a fixed-tag type (not int, uint or timestamp).
    static func tag(of type: ColumnType) -> UInt8 {
        switch type {
        case .bool: boolTag
        case .int: intZero
        case .uint: uintBase
        case .timestamp: timestampZero
        case .double: doubleTag
        case .text: textTag
        case .bytes: bytesTag
        case .json: jsonTag
        }
    }

    /// The key of `values`. `descending[i]` makes element i sort in reverse; missing flags are
    /// ascending.
    @_spi(Benchmarks) public static func encode(_ values: [Value], descending: [Bool] = []) -> [UInt8] {
        var encoder = TupleEncoder()
        encoder.append(contentsOf: values, descending: descending)
        return encoder.bytes
    }

    /// Decodes a whole key of `types.count` elements. Each element must be NULL or of its
    /// column's type, and the key must end exactly after the last element.
    /// Throws `GuildStoreError.corruptEncoding` on malformed input; never traps.
    package static func decode(_ bytes: [UInt8], types: [ColumnType], descending: [Bool] = []) throws -> [Value] {
        try bytes.withUnsafeBytes { try decode($0, types: types, descending: descending) }
    }

    /// `decode` straight from page memory (a key a cursor lends).
    @_spi(Benchmarks) public static func decode(_ bytes: UnsafeRawBufferPointer, types: [ColumnType], descending: [Bool] = []) throws -> [Value] {
        var values: [Value] = []
        try decode(bytes, types: types, descending: descending, into: &values)
        return values
    }

    /// `decode` into `values` (emptied first), which keeps its storage across calls.
    static func decode(_ bytes: UnsafeRawBufferPointer, types: [ColumnType], descending: [Bool] = [], into values: inout [Value]) throws {
        var decoder = TupleDecoder(bytes)
        values.removeAll(keepingCapacity: true)
        values.reserveCapacity(types.count)
        for (i, type) in types.enumerated() {
            values.append(try decoder.next(type, descending: i < descending.count && descending[i]))
        }
        guard decoder.isAtEnd else {
            throw GuildStoreError.corruptEncoding(
                reason: "key has \(bytes.count - decoder.offset) bytes left after its \(types.count) elements")
        }
    }

    /// The smallest key greater than every key that starts with `prefix`, or nil when there is
    /// none (the prefix is empty or all 0xFF): drop trailing 0xFF bytes, add one to the last.
    /// The keys starting with `prefix` are exactly those in `prefix ..< successor`.
    package static func prefixSuccessor(_ prefix: [UInt8]) -> [UInt8]? {
        var result = prefix
        while let last = result.last {
            if last != 0xFF {
                result[result.count - 1] = last + 1
                return result
            }
            result.removeLast()
        }
        return nil
    }

    /// The key range of every tuple whose first elements equal `prefix` (an equality prefix of
    /// an index): scan `lower ..< upper`, with no upper bound when `upper` is nil. By (TE-1) a
    /// complete element never matches a longer one: the prefix ("ab") does not cover "abc".
    package static func prefixRange(_ prefix: [Value], descending: [Bool] = []) -> (lower: [UInt8], upper: [UInt8]?) {
        let lower = encode(prefix, descending: descending)
        return (lower, prefixSuccessor(lower))
    }
}

/// Appends tuple elements to one growing buffer: no allocation per element beyond the
/// buffer's own growth. Reuse one encoder across keys with `removeAll()`.
package struct TupleEncoder: Sendable {
    /// The key so far.
    package private(set) var bytes: [UInt8]

    package init(reservingCapacity capacity: Int = 32) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its storage for the next key.
    package mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends `values` as elements; `descending[i]` reverses element i (missing: ascending).
    package mutating func append(contentsOf values: [Value], descending: [Bool] = []) {
        for (i, value) in values.enumerated() {
            append(value, descending: i < descending.count && descending[i])
        }
    }

    /// Appends elements encoded before (a key's leading elements).
    package mutating func append(encoded: [UInt8]) {
        bytes.append(contentsOf: encoded)
    }

    /// Appends one element.
    package mutating func append(_ value: Value, descending: Bool = false) {
        let start = bytes.count
        switch value {
        case .null:
            bytes.append(TupleEncoding.nullTag)
        case .bool(let b):
            bytes.append(TupleEncoding.boolTag)
            bytes.append(b ? 1 : 0)
        case .int(let v):
            appendSigned(TupleEncoding.intZero, v)
        case .uint(let v):
            appendVariable(TupleEncoding.uintBase + UInt8(Self.significantBytes(v)), v, Self.significantBytes(v))
        case .timestamp(let v):
            appendSigned(TupleEncoding.timestampZero, v)
        case .double(let d):
            // (TE-3) canonical bits, then the IEEE trick: positives above negatives, and
            // negatives with every bit flipped so larger magnitudes sort lower.
            let bits = Value.canonicalBits(d)
            appendWord(TupleEncoding.doubleTag, bits & (1 << 63) == 0 ? bits ^ (1 << 63) : ~bits)
        case .text(let s):
            appendEscaped(TupleEncoding.textTag, s.utf8)
        case .bytes(let b):
            appendEscaped(TupleEncoding.bytesTag, b)
        case .json(let s):
            appendEscaped(TupleEncoding.jsonTag, s.utf8)
        }
        if descending {
            bytes.withUnsafeMutableBufferPointer { buffer in
                for i in start..<buffer.count { buffer[i] = ~buffer[i] }
            }
        }
    }

    @inline(__always)
    static func significantBytes(_ u: UInt64) -> Int {
        (64 - u.leadingZeroBitCount + 7) >> 3
    }

    @inline(__always)
    private mutating func appendSigned(_ zero: UInt8, _ v: Int64) {
        if v >= 0 {
            let u = UInt64(v)
            let n = Self.significantBytes(u)
            appendVariable(zero + UInt8(n), u, n)
        } else {
            let magnitude = 0 &- UInt64(bitPattern: v)
            let n = Self.significantBytes(magnitude)
            appendVariable(zero - UInt8(n), ~magnitude, n)
        }
    }

    /// The tag, then the low `n` bytes of `word`, big-endian.
    @inline(__always)
    private mutating func appendVariable(_ tag: UInt8, _ word: UInt64, _ n: Int) {
        bytes.append(tag)
        withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[(8 - n)...])) }
    }

    @inline(__always)
    private mutating func appendWord(_ tag: UInt8, _ word: UInt64) {
        bytes.append(tag)
        withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func appendEscaped<C: Collection<UInt8>>(_ tag: UInt8, _ body: C) {
        bytes.append(tag)
        let done: Void? = body.withContiguousStorageIfAvailable { appendEscapedBody($0) }
        if done == nil { appendEscapedBody(Array(body)) }
        bytes.append(0x00)
        bytes.append(0x00)
    }

    private mutating func appendEscapedBody<B: RandomAccessCollection<UInt8>>(_ body: B) where B.Index == Int {
        var start = body.startIndex
        while let zero = body[start...].firstIndex(of: 0) {
            bytes.append(contentsOf: body[start..<zero])
            bytes.append(0x00)
            bytes.append(0xFF)
            start = zero + 1
        }
        bytes.append(contentsOf: body[start...])
    }
}

/// Reads tuple elements one at a time from borrowed bytes (a caller's array, or a key a cursor
/// lends for the length of a closure). Never stored past that lifetime. Every read is bounds
/// checked: a malformed key is `GuildStoreError.corruptEncoding`, never a trap.
struct TupleDecoder {
    let buffer: UnsafeRawBufferPointer
    /// Bytes consumed so far.
    private(set) var offset = 0
    /// Elements decoded so far (for error messages).
    private(set) var index = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    var isAtEnd: Bool { offset == buffer.count }

    /// Decodes the next element: NULL, or a value of `type`.
    mutating func next(_ type: ColumnType, descending: Bool) throws -> Value {
        let mask: UInt8 = descending ? 0xFF : 0x00
        guard offset < buffer.count else { throw corrupt("missing (the key ends at byte \(offset))") }
        let tag = buffer[offset] ^ mask
        offset += 1
        defer { index += 1 }
        if tag == TupleEncoding.nullTag { return .null }
        switch type {
        case .int:
            return .int(try signed(tag, zero: TupleEncoding.intZero, mask, type))
        case .timestamp:
            return .timestamp(try signed(tag, zero: TupleEncoding.timestampZero, mask, type))
        case .uint:
            guard tag >= TupleEncoding.uintBase, tag <= TupleEncoding.uintBase + 8 else { throw wrongTag(tag, type) }
            let n = Int(tag - TupleEncoding.uintBase)
            let u = try variable(n, mask, type)
            guard TupleEncoder.significantBytes(u) == n else { throw corrupt("non-canonical \(type)") }
            return .uint(u)
        default:
            break
        }
        guard tag == TupleEncoding.tag(of: type) else {
            throw corrupt("tag 0x\(String(tag, radix: 16)) is not NULL or \(type)")
        }
        switch type {
        case .bool:
            guard offset < buffer.count else { throw corrupt("truncated bool") }
            let byte = buffer[offset] ^ mask
            offset += 1
            guard byte <= 1 else { throw corrupt("bool byte \(byte)") }
            return .bool(byte == 1)
        case .int, .uint, .timestamp:
            throw corrupt("unreachable \(type)")  // decoded above
        case .double:
            let w = try word(mask, type)
            return .double(Double(bitPattern: w & (1 << 63) != 0 ? w ^ (1 << 63) : ~w))
        case .bytes:
            return .bytes(try escapedBody(mask, type))
        case .text, .json:
            let body = try escapedBody(mask, type)
            guard let string = body.withUnsafeBytes({ String.validatingUTF8($0) }) else { throw corrupt("invalid UTF-8 in \(type)") }
            return type == .text ? .text(string) : .json(string)
        }
    }

    private func wrongTag(_ tag: UInt8, _ type: ColumnType) -> GuildStoreError {
        corrupt("tag 0x\(String(tag, radix: 16)) is not NULL or \(type)")
    }

    /// A signed variable-length integer whose tag is `tag` (see `TupleEncoding`).
    private mutating func signed(_ tag: UInt8, zero: UInt8, _ mask: UInt8, _ type: ColumnType) throws -> Int64 {
        guard tag >= zero - 8, tag <= zero + 8 else { throw wrongTag(tag, type) }
        if tag >= zero {
            let n = Int(tag - zero)
            let u = try variable(n, mask, type)
            guard TupleEncoder.significantBytes(u) == n, u <= UInt64(Int64.max) else { throw corrupt("non-canonical \(type)") }
            return Int64(u)
        }
        let n = Int(zero - tag)
        let lowMask: UInt64 = n == 8 ? ~0 : (1 << UInt64(8 * n)) - 1
        let magnitude = ~(try variable(n, mask, type)) & lowMask
        guard TupleEncoder.significantBytes(magnitude) == n, magnitude <= 1 << 63 else { throw corrupt("non-canonical \(type)") }
        return Int64(bitPattern: 0 &- magnitude)
    }

    /// `n` (0-8) big-endian bytes as a number.
    @inline(__always)
    private mutating func variable(_ n: Int, _ mask: UInt8, _ type: ColumnType) throws -> UInt64 {
        guard buffer.count - offset >= n else { throw corrupt("truncated \(type)") }
        var u: UInt64 = 0
        for i in 0..<n { u = u << 8 | UInt64(buffer[offset + i] ^ mask) }
        offset += n
        return u
    }

    private mutating func word(_ mask: UInt8, _ type: ColumnType) throws -> UInt64 {
        guard buffer.count - offset >= 8 else { throw corrupt("truncated \(type)") }
        let w = UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return mask == 0 ? w : ~w
    }

    /// The unescaped body of a text, bytes or json element, consuming its terminator.
    private mutating func escapedBody(_ mask: UInt8, _ type: ColumnType) throws -> [UInt8] {
        var body: [UInt8] = []
        let zero = 0x00 ^ mask  // how an encoded 0x00 looks in this direction
        while true {
            // Copy the run up to the next encoded 0x00 in one go.
            guard let found = buffer[offset...].firstIndex(of: zero) else {
                throw corrupt("unterminated \(type)")
            }
            if mask == 0 {
                body.append(contentsOf: buffer[offset..<found])
            } else {
                for i in offset..<found { body.append(~buffer[i]) }
            }
            guard found + 1 < buffer.count else { throw corrupt("unterminated \(type)") }
            let next = buffer[found + 1] ^ mask
            offset = found + 2
            switch next {
            case 0x00: return body  // terminator
            case 0xFF: body.append(0x00)  // escaped 0x00
            default: throw corrupt("0x00 followed by 0x\(String(next, radix: 16)) in \(type)")
            }
        }
    }

    private func corrupt(_ what: String) -> GuildStoreError {
        .corruptEncoding(reason: "key element \(index): \(what)")
    }
}
