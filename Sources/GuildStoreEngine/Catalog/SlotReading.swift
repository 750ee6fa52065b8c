/// What an index-only walk reads of each entry, decoded into one machine word per column
/// instead of a `Value` per column (SL-1): the walk under aggregates that group and count on
/// integers (`Transaction.aggregateSlots`).
///
/// A slot holds, by the column's type:
///
///     int, timestamp   the Int64's bit pattern
///     uint             the value
///     bool             0 or 1
///     text, json       (offset << 32) | byte count of the UTF-8 inside the entry's stored
///                      value, checked to be UTF-8: valid only while the walk lends that entry
///                      (a value is at most `OverflowLayout.maximumValueSize`, 1 GiB, so both
///                      fit 32 bits)
///
/// and bit p of the NULL mask is set when column p is NULL. Slots are indexed by the table's
/// column positions, so a table of at most 64 columns takes this walk.
///
/// Invariant (SL-1): a slot walk visits the same entries, and reads from each the same values,
/// as the `Value` walk with the same `CompiledIndex.EntryReading` would, and checks the same
/// bytes with the same errors: the key parsed as far as the last column read (through
/// `TupleDecoder`), the stored value whole (`RowEncoding.readHeader`, every column stepped over
/// or read, text read checked to be UTF-8, nothing left after the last). It walks only an
/// index that carries every column read (a plan made reading fewer columns than an aggregate
/// reads gives NULL for the others on the `Value` walk).
struct SlotReading: Sendable {
    /// One column of the stored value: its type and the slot it goes to (nil: stepped over).
    struct ValueColumn: Sendable {
        let type: ColumnType
        let slot: Int?
    }

    /// The indexed columns parsed, and of those the slot each goes to (nil: not read).
    let keyTypes: [ColumnType]
    let keyDescending: [Bool]
    let keySlots: [Int?]
    /// Without a stored value, the primary key's types and slots, read after every indexed column.
    let primaryKeyFromKey: [(type: ColumnType, slot: Int)]?
    /// The stored value's columns (primary key, then included ones); nil: the value is not parsed.
    let valueColumns: [ValueColumn]?
    /// The NULL mask of the stored value's columns `n...` that a row written before a migration
    /// lacks (RE-1), by the stored count n; read columns only.
    let missingFrom: [UInt64]
    /// The index's tree, named in errors as the `Value` walk names it.
    let treeName: String

    /// Types a slot holds.
    static func holds(_ type: ColumnType, inKey: Bool) -> Bool {
        switch type {
        case .int, .uint, .timestamp, .bool: true
        case .text, .json: !inKey  // a key's text is escaped: not a slice of the entry
        case .double, .bytes: false
        }
    }

    /// The slot reading of `index` for the columns at `positions` (`reading` is its entry
    /// reading of them); nil when the index does not carry them all, some column read has a
    /// type no slot holds, or the table has more than 64 columns.
    init?(_ index: CompiledIndex, positions: [Int], reading: CompiledIndex.EntryReading, columnCount: Int) {
        guard columnCount <= 64, index.covers(positions) else { return nil }
        treeName = index.treeName
        var keySlots: [Int?] = []
        for i in 0..<reading.keyColumns {
            guard reading.keyWanted[i] else { keySlots.append(nil); continue }
            guard Self.holds(index.columnTypes[i], inKey: true) else { return nil }
            keySlots.append(index.columnPositions[i])
        }
        if reading.primaryKeyFromKey {
            guard index.primaryKeyTypes.allSatisfy({ Self.holds($0, inKey: true) }) else { return nil }
            primaryKeyFromKey = Array(zip(index.primaryKeyTypes, index.primaryKeyPositions))
        } else {
            primaryKeyFromKey = nil
        }
        var missing = [UInt64](repeating: 0, count: index.valueTypes.count + 1)
        if let wanted = reading.valueWanted {
            var columns: [ValueColumn] = []
            for (i, type) in index.valueTypes.enumerated() {
                guard wanted[i] else { columns.append(ValueColumn(type: type, slot: nil)); continue }
                guard Self.holds(type, inKey: false) else { return nil }
                columns.append(ValueColumn(type: type, slot: index.valuePositions[i]))
            }
            valueColumns = columns
            for n in 0...columns.count {
                for column in columns[n...] { if let slot = column.slot { missing[n] |= 1 << UInt64(slot) } }
            }
        } else {
            valueColumns = nil
        }
        missingFrom = missing
        keyTypes = Array(index.columnTypes.prefix(reading.keyColumns))
        keyDescending = Array(index.descending.prefix(reading.keyColumns))
        self.keySlots = keySlots
    }

    /// Decodes one entry into `slots` (indexed by column position) and returns the NULL mask
    /// of the columns read. Throws `corruptEncoding` where the `Value` walk would (SL-1).
    @inline(__always)
    func decode(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into slots: UnsafeMutablePointer<UInt64>) throws -> UInt64 {
        var nulls: UInt64 = 0
        if !keyTypes.isEmpty || primaryKeyFromKey != nil {
            var decoder = TupleDecoder(key)
            for i in 0..<keyTypes.count {
                let decoded = try decoder.next(keyTypes[i], descending: keyDescending[i])
                if let slot = keySlots[i] { Self.store(decoded, slot: slot, in: slots, nulls: &nulls) }
            }
            if let primaryKeyFromKey {
                for column in primaryKeyFromKey {
                    Self.store(try decoder.next(column.type, descending: false), slot: column.slot, in: slots, nulls: &nulls)
                }
                guard decoder.isAtEnd else {
                    throw GuildStoreError.corruptEncoding(reason: "an entry of index \(treeName) has bytes after its primary key")
                }
            }
        }
        if let valueColumns { nulls |= try Self.decodeValue(value, columns: valueColumns, missingFrom: missingFrom, into: slots) }
        return nulls
    }

    /// A key element's value into its slot.
    @inline(__always)
    private static func store(_ value: Value, slot: Int, in slots: UnsafeMutablePointer<UInt64>, nulls: inout UInt64) {
        switch value {
        case .int(let v), .timestamp(let v): slots[slot] = UInt64(bitPattern: v)
        case .uint(let v): slots[slot] = v
        case .bool(let b): slots[slot] = b ? 1 : 0
        default: nulls |= 1 << UInt64(slot)  // NULL (the decoder gives nothing else for these types)
        }
    }

    /// The stored value (row format, `RowEncoding`) into slots: its NULL mask.
    @inline(__always)
    private static func decodeValue(_ buffer: UnsafeRawBufferPointer, columns: [ValueColumn], missingFrom: [UInt64],
                                    into slots: UnsafeMutablePointer<UInt64>) throws -> UInt64 {
        var offset = 0
        let (n, bitmapStart) = try RowEncoding.readHeader(buffer, columns: columns.count, at: &offset)
        var nulls = missingFrom[n]  // (RE-1)
        for i in 0..<n {
            let column = columns[i]
            if let bitmapStart, buffer[bitmapStart + (i >> 3)] & (1 << (i & 7)) != 0 {
                if let slot = column.slot { nulls |= 1 << UInt64(slot) }
                continue
            }
            guard let slot = column.slot else {
                try RowEncoding.skip(column.type, column: i, in: buffer, at: &offset)
                continue
            }
            switch column.type {
            case .int, .timestamp:
                guard let u = RowEncoding.readVarint(buffer, &offset) else { throw RowEncoding.corrupt("column \(i): bad \(column.type) varint") }
                slots[slot] = (u >> 1) ^ (0 &- (u & 1))
            case .uint:
                guard let u = RowEncoding.readVarint(buffer, &offset) else { throw RowEncoding.corrupt("column \(i): bad uint varint") }
                slots[slot] = u
            case .bool:
                guard offset < buffer.count else { throw RowEncoding.corrupt("column \(i): truncated bool") }
                let byte = buffer[offset]
                guard byte <= 1 else { throw RowEncoding.corrupt("column \(i): bool byte \(byte)") }
                offset += 1
                slots[slot] = UInt64(byte)
            case .text, .json:
                guard let length = RowEncoding.readVarint(buffer, &offset) else { throw RowEncoding.corrupt("column \(i): bad length varint") }
                guard length <= UInt64(buffer.count - offset) else {
                    throw RowEncoding.corrupt("column \(i): \(column.type) of \(length) bytes runs past the row's end")
                }
                let body = UnsafeRawBufferPointer(rebasing: buffer[offset ..< offset + Int(length)])
                guard String.isValidUTF8(body) else { throw RowEncoding.corrupt("column \(i): invalid UTF-8 in \(column.type)") }
                slots[slot] = UInt64(offset) << 32 | length
                offset += Int(length)
            case .double, .bytes:  // `init` reads none into a slot
                throw RowEncoding.corrupt("column \(i): a \(column.type) read into a slot")
            }
        }
        // (RE-2)
        guard offset == buffer.count else { throw RowEncoding.corrupt("\(buffer.count - offset) bytes left after column \(n - 1)") }
        return nulls
    }

    /// The bytes of a text slot, inside `value` (the entry's stored value the slot was read from).
    @inline(__always)
    static func text(_ slot: UInt64, in value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let start = Int(slot >> 32)
        return UnsafeRawBufferPointer(rebasing: value[start ..< start + Int(slot & 0xFFFF_FFFF)])
    }
}
