/// Row format: a list of typed column values, as a table's row tree stores the columns outside
/// its primary key (`RowLayout`, TB-2) and an index stores its primary key and included columns.
/// Fixed-width fields little-endian, like the engine's page formats.
///
///     offset     size        field
///          0     1-10        n << 1 | has NULLs: n the stored column count, varint
///          v     ceil(n/8)   only when some column among 0..<n is NULL: the NULL bitmap, bit
///                            (i & 7) of byte (i >> 3) set when column i is NULL; bits at and
///                            past n are zero
///          v+b   ...         the value of each non-NULL column among 0..<n, in column order,
///                            with no type tags and no padding (the table's column types say
///                            how to read them)
///
///     column type   value
///     int           zigzag varint, 1-10 bytes (0, -1, 1, -2 ... as 0, 1, 2, 3 ...)
///     timestamp     zigzag varint, as int
///     uint          varint, 1-10 bytes
///     double        8 bytes, IEEE 754 bit pattern (exact: -0.0 and NaN payloads survive)
///     bool          1 byte, 0x00 or 0x01
///     text, json    varint byte count, then that many bytes of UTF-8
///     bytes         varint byte count, then the bytes
///
/// A varint is unsigned LEB128 of a 64-bit value: 7 bits a byte, low group first, the high bit
/// set on every byte but the last. It is minimal (no final 0x00 group after the first byte)
/// and at most 10 bytes, the tenth 0x00 or 0x01.
///
/// Invariants:
/// (RE-1) n is at most the number of columns it is read with, and columns n..<count read as
///      NULL. A writer stores n = 1 + the index of the last non-NULL column (0 for an all-NULL
///      row), so trailing NULLs cost nothing, and a row written before a migration added
///      columns reads back with the new columns NULL, without rewriting it. (A column added
///      with a non-NULL default needs the catalog to supply the default; the row format only
///      knows NULL.)
/// (RE-2) A row ends exactly after its last value: bytes left over are corruption.
/// (RE-3) Rows carry no types: they are read with the column types of the table they belong to,
///      so changing a column's type means rewriting its rows. The database header's format
///      version covers this layout.
///
/// A decoder reads untrusted bytes: every length and varint is checked against what is left,
/// text is checked to be UTF-8, and anything malformed is `GuildStoreError.corruptEncoding`,
/// never a trap.
package enum RowEncoding {
    /// The row bytes of `values`, one per column of `types`.
    /// Throws `GuildStoreError.typeMismatch` naming the first column whose value is not NULL
    /// or of the column's type, or where values and columns do not pair up.
    package static func encode(_ values: [Value], types: [ColumnType]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(values, types: types, into: &bytes)
        return bytes
    }

    /// `encode`, appending to `bytes` (reuse one buffer across rows).
    package static func encode(_ values: [Value], types: [ColumnType], into bytes: inout [UInt8]) throws {
        try encode(count: values.count, types: types, into: &bytes) { values[$0] }
    }

    /// The row bytes of `row[positions[i]]` for each column i of `types` (a table row's
    /// columns outside its primary key), without gathering them first.
    static func encode(_ row: [Value], at positions: [Int], types: [ColumnType]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(row, at: positions, types: types, into: &bytes)
        return bytes
    }

    /// `encode(_:at:types:)`, appending to `bytes`.
    static func encode(_ row: [Value], at positions: [Int], types: [ColumnType], into bytes: inout [UInt8]) throws {
        try encode(count: positions.count, types: types, into: &bytes) { row[positions[$0]] }
    }

    /// Encodes the `count` values `element(0) ..< element(count)`.
    @inline(__always)
    private static func encode(count: Int, types: [ColumnType], into bytes: inout [UInt8], _ element: (Int) -> Value) throws {
        var stored = 0  // (RE-1) 1 + the index of the last non-NULL column
        var nulls = 0  // NULLs among the stored columns: without any, no bitmap
        for i in 0..<count {
            let value = element(i)
            guard i < types.count else {
                throw GuildStoreError.typeMismatch(
                    column: i, expected: "no column (the table has \(types.count))",
                    found: value.columnType.map { "\($0)" } ?? "NULL")
            }
            guard value.fits(types[i]) else {
                throw GuildStoreError.typeMismatch(
                    column: i, expected: "\(types[i])", found: value.columnType.map { "\($0)" } ?? "NULL")
            }
            if !value.isNull { stored = i + 1 }
        }
        guard count == types.count else {
            throw GuildStoreError.typeMismatch(column: count, expected: "\(types[count])", found: "no value")
        }
        for i in 0..<stored where element(i).isNull { nulls += 1 }

        bytes.reserveCapacity(bytes.count + 1 + (stored + 7) / 8 + stored * 9)
        appendVarint(UInt64(stored) << 1 | (nulls > 0 ? 1 : 0), to: &bytes)
        let bitmapStart = bytes.count
        if nulls > 0 { bytes.append(contentsOf: repeatElement(0, count: (stored + 7) / 8)) }
        for i in 0..<stored {
            switch element(i) {
            case .null:
                bytes[bitmapStart + (i >> 3)] |= 1 << (i & 7)
            case .int(let v), .timestamp(let v):
                appendVarint(UInt64(bitPattern: v << 1) ^ UInt64(bitPattern: v >> 63), to: &bytes)
            case .uint(let v):
                appendVarint(v, to: &bytes)
            case .double(let d):
                withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            case .bool(let b):
                bytes.append(b ? 1 : 0)
            case .text(let s), .json(let s):
                appendVarint(UInt64(s.utf8.count), to: &bytes)
                bytes.append(contentsOf: s.utf8)
            case .bytes(let b):
                appendVarint(UInt64(b.count), to: &bytes)
                bytes.append(contentsOf: b)
            }
        }
    }

    /// Decodes a row of a table with columns `types`; columns the row does not store read as
    /// NULL (RE-1). Throws `GuildStoreError.corruptEncoding` on malformed input.
    package static func decode(_ bytes: [UInt8], types: [ColumnType]) throws -> [Value] {
        try bytes.withUnsafeBytes { try decode($0, types: types) }
    }

    /// `decode` straight from page memory (a value a cursor lends).
    package static func decode(_ buffer: UnsafeRawBufferPointer, types: [ColumnType]) throws -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(types.count)
        try types.withUnsafeBufferPointer { types in
            try decode(buffer, types: types, reading: nil) { _, value in values.append(value) }
        }
        return values
    }

    /// `decode`, storing column i's value at `row[positions[i]]` (`positions` has one entry
    /// per type): a table row whose primary key columns come from elsewhere. With `reading`,
    /// only the columns i with `reading[i]` are stored; the others are stepped over (checked
    /// for length, not decoded) and their places in `row` left as they were.
    static func decode(_ buffer: UnsafeRawBufferPointer, types: [ColumnType], into row: inout [Value], at positions: [Int],
                       reading: [Bool]? = nil) throws {
        // Through buffer pointers: no reference counting per column (and no bounds checks).
        precondition(positions.count == types.count && (reading?.count ?? types.count) == types.count,
                     "one position and one reading flag per column")
        try types.withUnsafeBufferPointer { types in
            try positions.withUnsafeBufferPointer { positions in
                try row.withUnsafeMutableBufferPointer { row in
                    guard let reading else {
                        return try decode(buffer, types: types, reading: nil) { i, value in row[positions[i]] = value }
                    }
                    try reading.withUnsafeBufferPointer { reading in
                        try decode(buffer, types: types, reading: reading) { i, value in row[positions[i]] = value }
                    }
                }
            }
        }
    }

    /// Calls `emit` with each column's index and value, in column order, every column of
    /// `types` included (RE-1), or only those `reading` marks.
    @inline(__always)
    private static func decode(_ buffer: UnsafeRawBufferPointer, types: UnsafeBufferPointer<ColumnType>,
                               reading: UnsafeBufferPointer<Bool>?, _ emit: (Int, Value) -> Void) throws {
        var offset = 0
        let (n, bitmapStart) = try readHeader(buffer, columns: types.count, at: &offset)
        for i in 0..<n {
            let wanted = reading?[i] ?? true
            if let bitmapStart, buffer[bitmapStart + (i >> 3)] & (1 << (i & 7)) != 0 {
                if wanted { emit(i, .null) }
                continue
            }
            if !wanted {
                try skip(types[i], column: i, in: buffer, at: &offset)
                continue
            }
            switch types[i] {
            case .int, .timestamp:
                guard let u = readVarint(buffer, &offset) else { throw corrupt("column \(i): bad \(types[i]) varint") }
                let v = Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
                emit(i, types[i] == .int ? .int(v) : .timestamp(v))
            case .uint:
                guard let u = readVarint(buffer, &offset) else { throw corrupt("column \(i): bad uint varint") }
                emit(i, .uint(u))
            case .double:
                guard buffer.count - offset >= 8 else { throw corrupt("column \(i): truncated double") }
                let bits = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
                emit(i, .double(Double(bitPattern: bits)))
            case .bool:
                guard offset < buffer.count else { throw corrupt("column \(i): truncated bool") }
                let byte = buffer[offset]
                offset += 1
                guard byte <= 1 else { throw corrupt("column \(i): bool byte \(byte)") }
                emit(i, .bool(byte == 1))
            case .text, .json, .bytes:
                guard let length = readVarint(buffer, &offset) else { throw corrupt("column \(i): bad length varint") }
                guard length <= UInt64(buffer.count - offset) else {
                    throw corrupt("column \(i): \(types[i]) of \(length) bytes runs past the row's end")
                }
                let body = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + Int(length))])
                offset += Int(length)
                if types[i] == .bytes {
                    emit(i, .bytes(Array(body)))
                } else {
                    guard let s = String.validatingUTF8(body) else {
                        throw corrupt("column \(i): invalid UTF-8 in \(types[i])")
                    }
                    emit(i, types[i] == .text ? .text(s) : .json(s))
                }
            }
        }
        // (RE-2)
        guard offset == buffer.count else { throw corrupt("\(buffer.count - offset) bytes left after column \(n - 1)") }
        // (RE-1) columns added after the row was written
        for i in n..<types.count where reading?[i] ?? true { emit(i, .null) }
    }

    /// Reads a row's column count and steps over its NULL bitmap, checked against a table of
    /// `columns` columns: the stored count n and where the bitmap starts (nil without one);
    /// `offset` ends at the first value.
    @inline(__always)
    static func readHeader(_ buffer: UnsafeRawBufferPointer, columns: Int, at offset: inout Int) throws -> (count: Int, bitmapStart: Int?) {
        guard let header = readVarint(buffer, &offset) else { throw corrupt("bad column count varint") }
        let count = header >> 1, hasNulls = header & 1 == 1
        guard count <= UInt64(columns) else {
            throw corrupt("row stores \(count) columns, the table has \(columns)")
        }
        let n = Int(count)
        guard hasNulls else { return (n, nil) }
        let bitmapStart = offset
        let bitmapSize = (n + 7) / 8
        guard buffer.count - offset >= bitmapSize else { throw corrupt("truncated NULL bitmap") }
        offset += bitmapSize
        if n & 7 != 0, buffer[offset - 1] >> (n & 7) != 0 {
            throw corrupt("NULL bitmap has bits set past column \(n - 1)")
        }
        return (n, bitmapStart)
    }

    /// Moves `offset` past column `i`'s value without decoding it, with the checks that cost
    /// nothing extra (a varint's form, a bool's byte); text is not checked to be UTF-8 until it
    /// is read.
    @inline(__always)
    static func skip(_ type: ColumnType, column i: Int, in buffer: UnsafeRawBufferPointer, at offset: inout Int) throws {
        switch type {
        case .int, .timestamp, .uint:
            guard readVarint(buffer, &offset) != nil else { throw corrupt("column \(i): bad \(type) varint") }
        case .double:
            guard buffer.count - offset >= 8 else { throw corrupt("column \(i): truncated double") }
            offset += 8
        case .bool:
            guard offset < buffer.count else { throw corrupt("column \(i): truncated bool") }
            guard buffer[offset] <= 1 else { throw corrupt("column \(i): bool byte \(buffer[offset])") }
            offset += 1
        case .text, .json, .bytes:
            guard let length = readVarint(buffer, &offset) else { throw corrupt("column \(i): bad length varint") }
            guard length <= UInt64(buffer.count - offset) else {
                throw corrupt("column \(i): \(type) of \(length) bytes runs past the row's end")
            }
            offset += Int(length)
        }
    }

    // MARK: Varints (64-bit unsigned LEB128)

    @inline(__always)
    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Reads a minimal varint of at most 10 bytes at `offset`; nil when truncated, overlong
    /// or wider than 64 bits.
    ///
    /// Ids (snowflakes, 8-9 bytes as varints) are most of what walks decode: with 8 bytes to
    /// read, the varint's end is found in one word (the first byte with its high bit clear)
    /// and its 7-bit groups gathered without a branch per byte.
    @inline(__always)
    static func readVarint(_ buffer: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
        let start = offset
        guard start < buffer.count else { return nil }
        let first = buffer[start]
        if first < 0x80 {
            offset = start + 1
            return UInt64(first)
        }
        let remaining = buffer.count - start
        let word: UInt64, ends: UInt64
        if remaining >= 8 {
            word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            ends = ~word & 0x8080_8080_8080_8080  // the high bit of each byte that ends the varint
        } else if buffer.count >= 8 {
            // Near the end of the buffer: its last eight bytes, shifted so the varint's come
            // first. The bytes past the buffer's end read as zero: a varint that runs into them
            // ends on a zero byte, which no minimal varint does, and is refused as truncated.
            word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: buffer.count - 8, as: UInt64.self)) >> UInt64((8 - remaining) * 8)
            ends = ~word & 0x8080_8080_8080_8080
        } else {
            return readVarintBytewise(buffer, &offset)
        }
        if ends != 0 {
            let length = (ends.trailingZeroBitCount >> 3) + 1  // 2...8
            let last = UInt8(truncatingIfNeeded: word >> UInt64((length - 1) * 8))
            guard last != 0 else { return nil }  // not minimal
            offset = start + length
            return gather(length == 8 ? word : word & ((1 &<< UInt64(length * 8)) &- 1))
        }
        // Nine or ten bytes: 56 bits from the word, then the rest byte by byte.
        guard buffer.count - start >= 9 else { return nil }
        let ninth = buffer[start + 8]
        let low = gather(word)
        if ninth < 0x80 {
            guard ninth != 0 else { return nil }
            offset = start + 9
            return low | UInt64(ninth) &<< 56
        }
        guard buffer.count - start >= 10 else { return nil }
        let tenth = buffer[start + 9]
        guard tenth == 1 else { return nil }  // 0: not minimal; more: past 64 bits or not the end
        offset = start + 10
        return low | UInt64(ninth & 0x7F) &<< 56 | 1 &<< 63
    }

    /// The 7-bit groups of up to eight varint bytes (little-endian in `word`, high bits ignored),
    /// packed: 56 bits at most.
    @inline(__always)
    private static func gather(_ word: UInt64) -> UInt64 {
        var v = word & 0x7F7F_7F7F_7F7F_7F7F
        // Pairs of 7-bit groups into 14 bits, pairs of those into 28, then the two halves.
        v = (v & 0x007F_007F_007F_007F) | ((v & 0x7F00_7F00_7F00_7F00) >> 1)
        v = (v & 0x0000_3FFF_0000_3FFF) | ((v & 0x3FFF_0000_3FFF_0000) >> 2)
        return (v & 0x0000_0000_0FFF_FFFF) | ((v & 0x0FFF_FFFF_0000_0000) >> 4)
    }

    /// `readVarint` a byte at a time, for a buffer shorter than eight bytes.
    private static func readVarintBytewise(_ buffer: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < buffer.count {
            let byte = buffer[i]
            i += 1
            if shift == 63, byte > 1 { return nil }  // past 64 bits
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                if byte == 0, shift > 0 { return nil }  // not minimal
                offset = i
                return result
            }
            shift += 7
        }
        return nil
    }

    static func corrupt(_ what: String) -> GuildStoreError {
        .corruptEncoding(reason: "row: \(what)")
    }
}
