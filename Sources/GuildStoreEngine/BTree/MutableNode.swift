/// Edits a node page that belongs to the write transaction's dirty set. The page passed
/// `Node`'s checks when it was read, so offsets here are trusted.
struct MutableNode {
    let base: UnsafeMutableRawPointer
    let pageSize: Int
    let number: UInt32

    var node: Node {
        get throws { try Node(PageRef(base: UnsafeRawPointer(base), owner: nil), number: number, pageSize: pageSize) }
    }

    var count: Int { UnsafeRawPointer(base).u16(6) }
    private var contentStart: Int { Int(UnsafeRawPointer(base).u32(8)) }
    private var fragmented: Int { Int(UnsafeRawPointer(base).u32(12)) }
    private var gapBytes: Int { contentStart - NodeLayout.headerSize - count * NodeLayout.slotSize }
    private var isLeaf: Bool { UnsafeRawPointer(base).u8(4) == PageType.leaf.rawValue }
    /// BT-6: the leaf's prefix length (bytes 22-23); 0 in interior nodes.
    private var prefixLength: Int { isLeaf ? UnsafeRawPointer(base).u16(22) : 0 }

    func setRightChild(_ page: UInt32) { base.setU32(16, page) }

    /// Consecutive inserts at the node's end or right after the previous insert (byte 5).
    var appendRun: Int {
        get { Int(UnsafeRawPointer(base).u8(5)) }
        nonmutating set { base.setU8(5, UInt8(min(255, newValue))) }
    }

    /// The slot the latest insert took (bytes 20-21); a hint, so any value read is safe.
    var lastInsert: Int {
        get { UnsafeRawPointer(base).u16(20) }
        nonmutating set { base.setU16(20, newValue) }
    }

    /// Records an insert at `position` and says whether keys are arriving in increasing order
    /// here: this insert and the one before each landed at the end or right after the insert
    /// before them (an index's `(guild_id, created_at)` entries of one guild arrive at the end
    /// of that guild's run, inside a leaf that also holds the next guild's).
    func noteInsert(at position: Int) -> Bool {
        let run = appendRun
        let follows = position == count || position == lastInsert + 1
        appendRun = follows ? run + 1 : 0
        lastInsert = position
        return follows && run >= 1
    }

    /// Sets child pointer `i` (i == count: the right-most child).
    func setChild(_ i: Int, to page: UInt32) throws {
        if i == count {
            setRightChild(page)
        } else {
            // DISK-1: the cell's 4 bytes lie inside the page (`Node.child` checks the same).
            let view = try node
            let offset = try view.cellOffset(i)
            guard offset + 4 <= view.contentEnd else { throw view.malformed(i) }
            base.setU32(offset, page)
        }
    }

    /// Inserts the full cell `cell` at slot `i`; false when it does not fit even after
    /// defragmenting (or, in a leaf whose prefix the key does not start with, after a rebuild
    /// with the shorter prefix: BT-6).
    func insertCell(_ cell: UnsafeRawBufferPointer, at i: Int) throws -> Bool {
        guard isLeaf else { return try insertStored(cell, at: i) }
        return try insertLeaf(try Cell.parseLeaf(cell, page: number), at: i, cell: cell)
    }

    /// Inserts a leaf cell given by its parts at slot `i` of this leaf (`insertCell` without
    /// the whole cell made first, when the key starts with the leaf's prefix); `cell` is the
    /// whole cell when the caller has it.
    func insertLeaf(_ parsed: Cell.ParsedLeaf, at i: Int, cell: UnsafeRawBufferPointer? = nil) throws -> Bool {
        assert(isLeaf, "insertLeaf on an interior node")
        let prefix = prefixLength
        if count == 0 {
            // BT-6: an empty leaf takes the whole key as its prefix; the next key shortens it.
            guard parsed.key.count + parsed.stored(strip: parsed.key.count) + NodeLayout.slotSize
                    <= pageSize - NodeLayout.headerSize else { return false }
            let (appendRun, lastInsert) = (self.appendRun, self.lastInsert)
            NodeLayout.initialize(base, pageSize: pageSize, type: .leaf)
            (self.appendRun, self.lastInsert) = (appendRun, lastInsert)
            setPrefix(parsed.key)
            return try insertStored(parsed, strip: parsed.key.count, at: 0)
        }
        let shared = commonPrefix(parsed.key, UnsafeRawBufferPointer(start: base + pageSize - prefix, count: prefix))
        if shared == prefix {
            return try insertStored(parsed, strip: prefix, at: i)
        }
        // BT-6: the key leaves the prefix: every cell grows by what the prefix loses.
        func rebuilding(_ cell: UnsafeRawBufferPointer) throws -> Bool {
            try LeafCells.with([self], inserting: cell, at: i, pageSize: pageSize) { cells in
                guard cells.storedBytes(0..<cells.count) <= pageSize - NodeLayout.headerSize else { return false }
                let (appendRun, lastInsert) = (self.appendRun, self.lastInsert)
                try cells.write(0..<cells.count, into: self)
                (self.appendRun, self.lastInsert) = (appendRun, lastInsert)
                return true
            }
        }
        if let cell { return try rebuilding(cell) }
        return try parsed.withStripped(0) { try rebuilding($0) }
    }

    /// Inserts `cell`, already in this node's stored form, at slot `i`.
    private func insertStored(_ cell: UnsafeRawBufferPointer, at i: Int) throws -> Bool {
        guard let offset = try claim(cell.count, slot: i) else { return false }
        if cell.count > 0 { (base + offset).copyMemory(from: cell.baseAddress!, byteCount: cell.count) }
        return true
    }

    /// Inserts a leaf cell at slot `i`, stored with its key's first `strip` bytes left out.
    ///
    /// Its bytes are written after `claim`, which may defragment this page: a key or value
    /// that lies in the page itself (a caller passing bytes a read lent it) is copied out
    /// first, so the cell never takes bytes that moved.
    private func insertStored(_ parsed: Cell.ParsedLeaf, strip: Int, at i: Int) throws -> Bool {
        let page = UnsafeRawBufferPointer(start: base, count: pageSize)
        if page.overlaps(parsed.key) || page.overlaps(parsed.rest) {
            return try parsed.withStripped(strip) { try insertStored($0, at: i) }
        }
        guard let offset = try claim(parsed.stored(strip: strip), slot: i) else { return false }
        parsed.write(strip: strip, to: base + offset)
        return true
    }

    /// Makes room for a cell of `size` bytes at slot `i` (the slots from `i` move up one, the
    /// header counts the cell) and returns where its bytes go; nil when it does not fit even
    /// after defragmenting. The caller writes the cell's bytes there.
    private func claim(_ size: Int, slot i: Int) throws -> Int? {
        let needed = size + NodeLayout.slotSize
        if gapBytes < needed {
            guard gapBytes + fragmented >= needed else { return nil }
            let claimed = fragmented
            try defragment()
            // DISK-6: the fragmented-bytes field comes from disk; when defragmenting freed less
            // than it claimed, the cell would land on the slot array.
            guard gapBytes >= needed else {
                throw GuildStoreError.corruptPage(page: number, reason: "fragmented bytes \(claimed) exceed the holes defragmenting found")
            }
        }
        let offset = contentStart - size
        let slots = base + NodeLayout.headerSize
        let n = count
        if i < n {
            (slots + (i + 1) * NodeLayout.slotSize).copyMemory(from: slots + i * NodeLayout.slotSize, byteCount: (n - i) * NodeLayout.slotSize)
        }
        base.setU16(NodeLayout.headerSize + i * NodeLayout.slotSize, offset)
        base.setU16(6, n + 1)
        base.setU32(8, UInt32(offset))
        assert(headerIsConsistent, "BT-8: the node's header does not fit its page")
        return offset
    }

    func removeCell(at i: Int) throws {
        let size = try node.cellSize(i)
        let n = count
        let slots = base + NodeLayout.headerSize
        if i < n - 1 {
            (slots + i * NodeLayout.slotSize).copyMemory(from: slots + (i + 1) * NodeLayout.slotSize, byteCount: (n - 1 - i) * NodeLayout.slotSize)
        }
        base.setU16(6, n - 1)
        if n - 1 == 0 {
            base.setU32(8, UInt32(pageSize))
            base.setU32(12, 0)
            base.setU16(22, 0)  // BT-6: an empty leaf has no prefix
        } else {
            // DISK-3: the field comes from disk; freed bytes beyond the page are corruption.
            let freed = fragmented + size
            guard freed <= pageSize else {
                throw GuildStoreError.corruptPage(page: number, reason: "fragmented bytes \(fragmented) plus a removed cell of \(size) exceed the page")
            }
            base.setU32(12, UInt32(freed))
        }
    }

    /// Rewrites the content area without holes, keeping the prefix (a cell stripped for it
    /// may be waiting to go in).
    ///
    /// The cells move as they are stored (a leaf's prefix stays, BT-6), read from a copy of
    /// the page and packed against the prefix (or the page's end) in slot order; the header,
    /// the slots' order and the hints stay. Their sizes are read through `Node`'s checks
    /// (DISK-1), so a damaged cell is an error, never a copy past the page.
    func defragment() throws {
        let n = count
        let slotsEnd = NodeLayout.headerSize + n * NodeLayout.slotSize
        try withUnsafeTemporaryAllocation(byteCount: pageSize, alignment: 8) { copy in
            let original = UnsafeMutableRawPointer(copy.baseAddress!)
            original.copyMemory(from: base, byteCount: pageSize)
            let view = try Node(PageRef(base: UnsafeRawPointer(original), owner: nil), number: number, pageSize: pageSize)
            var offset = view.contentEnd
            for i in 0..<n {
                let (start, size) = (try view.cellOffset(i), try view.cellSize(i))
                offset -= size
                guard offset >= slotsEnd else {
                    throw GuildStoreError.corruptPage(page: number, reason: "cells do not fit the page while defragmenting")
                }
                if size > 0 { (base + offset).copyMemory(from: original + start, byteCount: size) }
                base.setU16(NodeLayout.headerSize + i * NodeLayout.slotSize, offset)
            }
            base.setU32(8, UInt32(offset))
            base.setU32(12, 0)
        }
    }

    /// Replaces the node's content with the full cells `cells` (which must fit, BT-3); a leaf
    /// takes the longest prefix its keys share (BT-6), or the first `prefixLength` bytes of it.
    func rebuild(cells: ArraySlice<[UInt8]>, rightChild: UInt32, type: PageType, prefixLength: Int? = nil) throws {
        var prefix: [UInt8] = []
        if type == .leaf, let first = cells.first, let last = cells.last {
            let a = Cell.key(of: first, leaf: true), b = Cell.key(of: last, leaf: true)
            let shared = a.withUnsafeBytes { x in b.withUnsafeBytes { y in commonPrefix(x, y) } }
            prefix = Array(a[..<min(shared, prefixLength ?? shared)])
        }
        NodeLayout.initialize(base, pageSize: pageSize, type: type)
        base.setU32(16, rightChild)
        prefix.withUnsafeBytes { setPrefix($0) }
        var offset = pageSize - prefix.count
        var slot = NodeLayout.headerSize
        let strip = prefix.count
        for cell in cells {
            try cell.withUnsafeBytes { raw in
                let parsed = type == .leaf ? try Cell.parseLeaf(raw, page: number) : nil
                offset -= parsed?.stored(strip: strip) ?? raw.count
                guard offset >= slot + NodeLayout.slotSize else {
                    throw GuildStoreError.corruptPage(page: number, reason: "cells do not fit the page while rebuilding")
                }
                if let parsed {
                    parsed.write(strip: strip, to: base + offset)
                } else if raw.count > 0 {
                    (base + offset).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                }
            }
            base.setU16(slot, offset)
            slot += NodeLayout.slotSize
        }
        base.setU16(6, cells.count)
        base.setU32(8, UInt32(offset))
    }

    /// Writes a leaf's prefix at the end of the page and its length; the node must hold no
    /// cells there (an empty or re-initialized node).
    func setPrefix(_ prefix: UnsafeRawBufferPointer) {
        base.setU16(22, prefix.count)
        base.setU32(8, UInt32(pageSize - prefix.count))
        if prefix.count > 0 { (base + pageSize - prefix.count).copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the two ranges share a byte.
    func overlaps(_ other: UnsafeRawBufferPointer) -> Bool {
        guard let a = baseAddress, let b = other.baseAddress, count > 0, other.count > 0 else { return false }
        return a < b + other.count && b < a + count
    }
}

/// Length of the longest common prefix of `a` and `b`.
@inline(__always)
func commonPrefix(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i + 8 <= n, a.loadUnaligned(fromByteOffset: i, as: UInt64.self) == b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { i += 8 }
    while i < n, a[i] == b[i] { i += 1 }
    return i
}

/// Cell encoders.
enum Cell {
    /// A full leaf cell taken apart: its key, and the field and bytes after the key.
    struct ParsedLeaf {
        var key: UnsafeRawBufferPointer
        /// The varint (value length << 1 | overflow flag), as a number.
        var field: Int
        /// The value bytes or the overflow page number.
        var rest: UnsafeRawBufferPointer

        init(key: UnsafeRawBufferPointer, field: Int, rest: UnsafeRawBufferPointer) {
            self.key = key
            self.field = field
            self.rest = rest
        }

        /// The cell of `key` with `value` stored inline (no overflow pages).
        init(inline key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            self.init(key: key, field: value.count << 1, rest: value)
        }

        /// Size of the cell stored with the key's first `strip` bytes left out.
        func stored(strip: Int) -> Int {
            LeafCellHeader.size(keyLength: key.count - strip, field: field) + key.count - strip + rest.count
        }

        /// Writes the cell stored with the key's first `strip` bytes left out to `p`, which has
        /// room for `stored(strip:)` bytes.
        func write(strip: Int, to p: UnsafeMutableRawPointer) {
            var offset = LeafCellHeader.write(keyLength: key.count - strip, field: field, to: p)
            if key.count > strip { (p + offset).copyMemory(from: key.baseAddress! + strip, byteCount: key.count - strip) }
            offset += key.count - strip
            if rest.count > 0 { (p + offset).copyMemory(from: rest.baseAddress!, byteCount: rest.count) }
        }

        /// Calls `body` with the cell stored with the key's first `strip` bytes left out.
        func withStripped<T>(_ strip: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
            try withUnsafeTemporaryAllocation(byteCount: stored(strip: strip), alignment: 8) { buffer in
                write(strip: strip, to: buffer.baseAddress!)
                return try body(UnsafeRawBufferPointer(buffer))
            }
        }
    }

    /// Takes a full leaf cell apart (cells made by `leaf`, trusted, but checked anyway).
    static func parseLeaf(_ cell: UnsafeRawBufferPointer, page: UInt32) throws -> ParsedLeaf {
        guard let p = cell.baseAddress else { throw GuildStoreError.corruptPage(page: page, reason: "empty cell") }
        var offset = 0
        guard let (keyLength, field) = LeafCellHeader.read(p, &offset, limit: cell.count),
              offset + keyLength <= cell.count else {
            throw GuildStoreError.corruptPage(page: page, reason: "malformed cell")
        }
        return ParsedLeaf(key: UnsafeRawBufferPointer(start: p + offset, count: keyLength), field: field,
                          rest: UnsafeRawBufferPointer(rebasing: cell[(offset + keyLength)...]))
    }

    static func leafSize(keyLength: Int, valueLength: Int, overflow: Bool) -> Int {
        LeafCellHeader.size(keyLength: keyLength, field: valueLength << 1 | (overflow ? 1 : 0)) + keyLength + (overflow ? 4 : valueLength)
    }

    /// A full leaf cell: `value` inline, or when nil a reference to `overflowPage`.
    static func leaf(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?, valueLength: Int, overflowPage: UInt32) -> [UInt8] {
        withLeaf(key: key, value: value, valueLength: valueLength, overflowPage: overflowPage) { Array($0) }
    }

    /// Calls `body` with the cell `leaf` makes, built on the stack.
    static func withLeaf<T>(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?, valueLength: Int, overflowPage: UInt32,
                            _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let overflow = value == nil
        let field = valueLength << 1 | (overflow ? 1 : 0)
        let size = LeafCellHeader.size(keyLength: key.count, field: field) + key.count + (overflow ? 4 : valueLength)
        return try withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer in
            let p = buffer.baseAddress!
            var offset = LeafCellHeader.write(keyLength: key.count, field: field, to: p)
            if key.count > 0 { (p + offset).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            offset += key.count
            if let value {
                if value.count > 0 { (p + offset).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            } else {
                p.setU32(offset, overflowPage)
            }
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    static func interior(child: UInt32, key: UnsafeRawBufferPointer) -> [UInt8] {
        let size = 4 + varintSize(key.count) + key.count
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let p = UnsafeMutableRawPointer(buffer.baseAddress!)
            p.setU32(0, child)
            var offset = 4 + writeVarint(key.count, to: p + 4)
            if key.count > 0 { (p + offset).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            offset += key.count
            initialized = offset
        }
    }

    /// The key inside an encoded cell.
    static func key(of cell: [UInt8], leaf: Bool) -> [UInt8] {
        cell.withUnsafeBytes { raw in
            let p = raw.baseAddress!
            var offset = leaf ? 0 : 4
            let length = leaf ? LeafCellHeader.read(p, &offset, limit: raw.count)?.keyLength ?? 0
                              : readVarint(p, &offset, limit: raw.count) ?? 0
            return Array(UnsafeRawBufferPointer(start: p + offset, count: min(length, raw.count - offset)))
        }
    }

    static func child(of cell: [UInt8]) -> UInt32 {
        cell.withUnsafeBytes { $0.baseAddress!.u32(0) }
    }

    /// The shortest key s with left < s <= right (both from adjacent leaves, left < right).
    static func separator(after left: [UInt8], before right: [UInt8]) -> [UInt8] {
        var common = 0
        while common < left.count, common < right.count, left[common] == right[common] { common += 1 }
        return Array(right[..<min(right.count, common + 1)])
    }
}
