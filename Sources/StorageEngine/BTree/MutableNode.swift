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
    func setChild(_ i: Int, to page: UInt32) {
        if i == count {
            setRightChild(page)
        } else {
            base.setU32(UnsafeRawPointer(base).u16(NodeLayout.headerSize + i * NodeLayout.slotSize), page)
        }
    }

    /// Inserts `cell` at slot `i`; false when it does not fit even after defragmenting.
    func insertCell(_ cell: UnsafeRawBufferPointer, at i: Int) throws -> Bool {
        let needed = cell.count + NodeLayout.slotSize
        if gapBytes < needed {
            guard gapBytes + fragmented >= needed else { return false }
            try defragment()
        }
        let offset = contentStart - cell.count
        (base + offset).copyMemory(from: cell.baseAddress!, byteCount: cell.count)
        let slots = base + NodeLayout.headerSize
        let n = count
        if i < n {
            (slots + (i + 1) * NodeLayout.slotSize).copyMemory(from: slots + i * NodeLayout.slotSize, byteCount: (n - i) * NodeLayout.slotSize)
        }
        base.setU16(NodeLayout.headerSize + i * NodeLayout.slotSize, offset)
        base.setU16(6, n + 1)
        base.setU32(8, UInt32(offset))
        return true
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
        } else {
            base.setU32(12, UInt32(fragmented + size))
        }
    }

    /// Rewrites the content area without holes.
    func defragment() throws {
        let cells = try (0..<count).map { try node.cellBytes($0) }
        try rebuild(cells: cells[...], rightChild: UnsafeRawPointer(base).u32(16), type: PageType(rawValue: UnsafeRawPointer(base).u8(4)) ?? .leaf)
    }

    /// Replaces the node's content with `cells` (which must fit, B3).
    func rebuild(cells: ArraySlice<[UInt8]>, rightChild: UInt32, type: PageType) throws {
        NodeLayout.initialize(base, pageSize: pageSize, type: type)
        base.setU32(16, rightChild)
        var offset = pageSize
        var slot = NodeLayout.headerSize
        for cell in cells {
            offset -= cell.count
            guard offset >= slot + NodeLayout.slotSize else {
                throw GuildStoreError.corruptPage(page: number, reason: "cells do not fit the page while rebuilding")
            }
            cell.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            base.setU16(slot, offset)
            slot += NodeLayout.slotSize
        }
        base.setU16(6, cells.count)
        base.setU32(8, UInt32(offset))
    }
}

/// Cell encoders.
enum Cell {
    static func leafSize(keyLength: Int, valueLength: Int, overflow: Bool) -> Int {
        varintSize(keyLength) + varintSize(valueLength << 1 | 1) + keyLength + (overflow ? 4 : valueLength)
    }

    static func leaf(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?, valueLength: Int, overflowPage: UInt32) -> [UInt8] {
        let overflow = value == nil
        let size = varintSize(key.count) + varintSize(valueLength << 1 | (overflow ? 1 : 0)) + key.count + (overflow ? 4 : valueLength)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let p = UnsafeMutableRawPointer(buffer.baseAddress!)
            var offset = writeVarint(key.count, to: p)
            offset += writeVarint(valueLength << 1 | (overflow ? 1 : 0), to: p + offset)
            if key.count > 0 { (p + offset).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            offset += key.count
            if let value {
                if value.count > 0 { (p + offset).copyMemory(from: value.baseAddress!, byteCount: value.count) }
                offset += value.count
            } else {
                p.setU32(offset, overflowPage)
                offset += 4
            }
            initialized = offset
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
            let length = readVarint(p, &offset, limit: raw.count) ?? 0
            if leaf { _ = readVarint(p, &offset, limit: raw.count) }
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
