/// B+tree node pages (leaf and interior), all integers little-endian.
///
///     offset size  field
///          0    4  CRC32C of bytes 4..<pageSize
///          4    1  page type: 2 leaf, 3 interior
///          5    1  insert run: how many inserts in a row landed at the node's end or right
///                  after the previous insert (saturates at 255); the split policy's hint
///                  that keys arrive in increasing order there
///          6    2  cell count n
///          8    4  content start: offset of the lowest cell byte; cells grow down from the end
///         12    4  fragmented bytes: space inside the content area freed by removed cells
///         16    4  right-most child page (interior); 0 in a leaf
///         20    2  last insert: the slot the latest insert took (a hint, like byte 5: any
///                  value is safe, 0 in nodes written before it existed)
///         22    2  prefix length p: bytes every key of a leaf starts with; 0 in interior
///                  nodes and empty leaves
///         24   2n  slot array: offset of each cell, in key order
///          -    p  the prefix, in a leaf the last p bytes of the page (cells end before it)
///
/// Leaf cell:     varint (suffix length << 1 | has field); when that bit is set, the field:
///                varint (value length << 1 | overflow flag); the key's bytes after the node's
///                prefix; then the value bytes, or the 4-byte first overflow page when flagged.
///                A cell with an empty inline value (a non-unique index entry) has no field:
///                one header byte instead of two. A key is the prefix followed by its suffix.
///                (`LeafCellHeader` writes and reads the header.)
/// Interior cell: 4-byte left child page, varint key length, key bytes.
///
/// Cells travel between nodes as full cells, leaf cells with their whole key (`Node.cellBytes`,
/// `Cell.leaf`), and a node strips its prefix when it stores them; leaf splits, shares between
/// siblings and prefix changes read the cells in place from page copies instead (`LeafCells`).
///
/// Invariants:
/// (BT-1) Keys in a node are strictly increasing in memcmp order.
/// (BT-2) In an interior node with keys K0..Kn-1 and children C0..Cn (Cn is the right-most
///      child), every key under Ci is < Ki and >= Ki-1.
/// (BT-3) Every cell is at most `maxCellSize` bytes, so any node's cells split into two halves
///      that each fit a page.
/// (BT-5) Inserting a key above every key of the right-most leaf goes straight to that leaf
///      (`WriteTransaction.appendHints`): valid while no split of that tree, merge or free
///      reshapes it.
/// (BT-4) A tree's root page never moves: a root split moves the root's cells into a new child,
///      a root with one child takes that child's cells back. The catalog stores roots once.
/// (BT-6) Every key of a leaf starts with its prefix, and a rebuilt leaf's prefix is the longest
///      its keys share (`MutableNode.rebuild`); an insert of a key that does not start with it
///      rebuilds the leaf with the shorter prefix, or splits it when that does not fit
///      (`MutableNode.insertCell`). A prefix never makes cells need more room than they would
///      without one: it is shared by at least one cell, which is that much shorter.
/// (BT-8) The header fits the page: the slot array ends at or before the content start, which
///      lies at or before the prefix (the page's end without one), and every slot points into
///      the content area. `Node.init` and `Node.cellOffset` check it on every page read (a
///      damaged page is `.corruptPage`); an edit keeps it (asserted in debug builds).
enum NodeLayout {
    static let headerSize = 24
    static let slotSize = 2

    static func maxCellSize(pageSize: Int) -> Int {
        (pageSize - headerSize) / 4 - slotSize
    }

    static func initialize(_ page: UnsafeMutableRawPointer, pageSize: Int, type: PageType) {
        page.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
        page.setU8(4, type.rawValue)
        page.setU32(8, UInt32(pageSize))
    }
}

/// The header of a leaf cell: its key (or suffix) length and its field, value length << 1 |
/// overflow flag, which is left out when 0 (an empty inline value).
enum LeafCellHeader {
    @inline(__always)
    static func size(keyLength: Int, field: Int) -> Int {
        field == 0 ? varintSize(keyLength << 1) : varintSize(keyLength << 1 | 1) + varintSize(field)
    }

    @inline(__always)
    static func write(keyLength: Int, field: Int, to pointer: UnsafeMutableRawPointer) -> Int {
        if field == 0 { return writeVarint(keyLength << 1, to: pointer) }
        let n = writeVarint(keyLength << 1 | 1, to: pointer)
        return n + writeVarint(field, to: pointer + n)
    }

    /// Reads a header at `offset`, never past `limit`; nil when malformed.
    @inline(__always)
    static func read(_ base: UnsafeRawPointer, _ offset: inout Int, limit: Int) -> (keyLength: Int, field: Int)? {
        guard let first = readVarint(base, &offset, limit: limit) else { return nil }
        if first & 1 == 0 { return (first >> 1, 0) }
        guard let field = readVarint(base, &offset, limit: limit), field != 0 else { return nil }
        return (first >> 1, field)
    }
}

// MARK: - Varints (unsigned LEB128)

@inline(__always)
func varintSize(_ value: Int) -> Int {
    var v = UInt(value), n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}

@inline(__always)
func writeVarint(_ value: Int, to pointer: UnsafeMutableRawPointer) -> Int {
    var v = UInt(value), n = 0
    while v >= 0x80 {
        pointer.setU8(n, UInt8(v & 0x7F) | 0x80)
        v >>= 7
        n += 1
    }
    pointer.setU8(n, UInt8(v))
    return n + 1
}

/// Reads a varint at `offset`, never past `limit`; nil when malformed.
@inline(__always)
func readVarint(_ base: UnsafeRawPointer, _ offset: inout Int, limit: Int) -> Int? {
    var result = 0, shift = 0
    while offset < limit, shift < 35 {
        let byte = base.u8(offset)
        offset += 1
        result |= Int(byte & 0x7F) << shift
        if byte < 0x80 { return result }
        shift += 7
    }
    return nil
}

/// A node page read through its checked accessors. Every offset it returns lies inside the
/// page: data from disk is untrusted, so a bad offset is `.corruptPage`, never a trap.
struct Node {
    let base: UnsafeRawPointer
    let pageSize: Int
    let number: UInt32
    /// Bytes every key of this leaf starts with (BT-6); 0 in interior nodes.
    let prefixLength: Int
    /// Where cells end: the prefix follows.
    let contentEnd: Int

    /// Checks the header fields every accessor relies on.
    @inline(__always)
    init(_ ref: PageRef, number: UInt32, pageSize: Int) throws {
        base = ref.base
        self.pageSize = pageSize
        self.number = number
        let type = base.u8(4)
        guard type == PageType.leaf.rawValue || type == PageType.interior.rawValue else {
            throw GuildStoreError.corruptPage(page: number, reason: "expected a B+tree node, found page type \(type)")
        }
        prefixLength = type == PageType.leaf.rawValue ? base.u16(22) : 0
        contentEnd = pageSize - prefixLength
        let start = Int(base.u32(8))
        guard NodeLayout.headerSize + count * NodeLayout.slotSize <= start, start <= contentEnd else {
            throw GuildStoreError.corruptPage(page: number, reason: "cell count \(count), content start \(start) and prefix of \(prefixLength) bytes overlap")
        }
    }

    /// The bytes every key of this leaf starts with.
    @inline(__always)
    var prefix: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + contentEnd, count: prefixLength) }

    @inline(__always) var isLeaf: Bool { base.u8(4) == PageType.leaf.rawValue }
    @inline(__always) var count: Int { base.u16(6) }
    @inline(__always) var contentStart: Int { Int(base.u32(8)) }
    @inline(__always) var fragmented: Int { Int(base.u32(12)) }
    @inline(__always) var rightChild: UInt32 { base.u32(16) }

    /// Free bytes between the slot array and the content area.
    var gapBytes: Int { contentStart - NodeLayout.headerSize - count * NodeLayout.slotSize }
    /// Bytes the cells and their slots occupy.
    var usedBytes: Int { pageSize - NodeLayout.headerSize - gapBytes - fragmented }

    @inline(__always)
    func cellOffset(_ i: Int) throws -> Int {
        let offset = base.u16(NodeLayout.headerSize + i * NodeLayout.slotSize)
        guard offset >= contentStart, offset < contentEnd else {
            throw GuildStoreError.corruptPage(page: number, reason: "cell \(i) offset \(offset) outside the content area")
        }
        return offset
    }

    /// The key bytes cell `i` stores: an interior node's whole key, a leaf key's suffix after
    /// the node's prefix.
    @inline(__always)
    func storedKey(_ i: Int) throws -> UnsafeRawBufferPointer {
        var offset = try cellOffset(i)
        let length: Int
        if isLeaf {
            guard let header = LeafCellHeader.read(base, &offset, limit: contentEnd) else { throw malformed(i) }
            length = header.keyLength
        } else {
            offset += 4
            guard let interiorLength = readVarint(base, &offset, limit: contentEnd) else { throw malformed(i) }
            length = interiorLength
        }
        guard offset + length <= contentEnd else { throw malformed(i) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// Calls `body` with the whole key of cell `i` (assembled from prefix and suffix in a
    /// leaf with a prefix), valid only inside `body`.
    @inline(__always)
    func withKey<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        try withKey(suffix: try storedKey(i), body)
    }

    /// Calls `body` with the node's prefix followed by `suffix`.
    @inline(__always)
    func withKey<T>(suffix: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard prefixLength > 0 else { return try body(suffix) }
        return try withUnsafeTemporaryAllocation(byteCount: prefixLength + suffix.count, alignment: 8) { buffer in
            let p = buffer.baseAddress!
            p.copyMemory(from: base + contentEnd, byteCount: prefixLength)
            if suffix.count > 0 { (p + prefixLength).copyMemory(from: suffix.baseAddress!, byteCount: suffix.count) }
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Compares `key` with the node's prefix: the order of every key of the node against
    /// `key` when that is decided by the prefix alone (-1: all below, 1: all above), else the
    /// rest of `key` after the prefix, to compare with suffixes.
    @inline(__always)
    func againstPrefix(_ key: UnsafeRawBufferPointer) -> (order: Int, rest: UnsafeRawBufferPointer) {
        guard prefixLength > 0 else { return (0, key) }
        let n = min(prefixLength, key.count)
        let c = compareKeys(UnsafeRawBufferPointer(start: base + contentEnd, count: n),
                            UnsafeRawBufferPointer(start: key.baseAddress, count: n))
        if c != 0 { return (c, key) }
        // A key shorter than the prefix sorts below every key that extends it.
        if key.count < prefixLength { return (1, key) }
        return (0, UnsafeRawBufferPointer(rebasing: key[prefixLength...]))
    }

    /// memcmp order of cell `i`'s whole key against `key`.
    @inline(__always)
    func compareKey(_ i: Int, _ key: UnsafeRawBufferPointer) throws -> Int {
        let (order, rest) = againstPrefix(key)
        if order != 0 { return order }
        return compareKeys(try storedKey(i), rest)
    }

    /// Whether `key` lies between this leaf's first and last keys (inclusive): a key in that
    /// span is in this leaf or in no leaf of its tree (BT-1, BT-2).
    @inline(__always)
    func spans(_ key: UnsafeRawBufferPointer) throws -> Bool {
        guard count > 0, try compareKey(0, key) <= 0 else { return false }
        return try compareKey(count - 1, key) >= 0
    }

    /// Child pointer `i` of an interior node: the left child of cell i, or the right-most
    /// child for i == count.
    @inline(__always)
    func child(_ i: Int) throws -> UInt32 {
        let page: UInt32
        if i == count {
            page = rightChild
        } else {
            // DISK-1: every read of n bytes at an offset taken from the page checks
            // offset + n against the content's end, not the offset alone.
            let offset = try cellOffset(i)
            guard offset + 4 <= contentEnd else { throw malformed(i) }
            page = base.u32(offset)
        }
        guard page != 0, page != number else {
            throw GuildStoreError.corruptPage(page: number, reason: "child \(i) points at page \(page)")
        }
        return page
    }

    struct LeafCell {
        /// The key's bytes after the node's prefix (`Node.withKey(suffix:)` gives the key).
        var suffix: UnsafeRawBufferPointer
        var valueLength: Int
        /// The inline value, or nil when the value lives in overflow pages.
        var inlineValue: UnsafeRawBufferPointer?
        var overflowPage: UInt32
        var size: Int
        /// The cell's varint after the key length: value length << 1 | overflow flag.
        var field: Int
        /// The bytes after the key: the inline value or the 4-byte overflow page number.
        var rest: UnsafeRawBufferPointer
    }

    func leafCell(_ i: Int) throws -> LeafCell {
        let start = try cellOffset(i)
        var offset = start
        guard let (keyLength, field) = LeafCellHeader.read(base, &offset, limit: contentEnd) else { throw malformed(i) }
        let valueLength = field >> 1
        let overflow = field & 1 == 1
        let keyStart = offset
        offset += keyLength
        if overflow {
            guard offset + 4 <= contentEnd else { throw malformed(i) }
            let page = base.u32(offset)
            return LeafCell(suffix: UnsafeRawBufferPointer(start: base + keyStart, count: keyLength),
                            valueLength: valueLength, inlineValue: nil, overflowPage: page,
                            size: offset + 4 - start, field: field,
                            rest: UnsafeRawBufferPointer(start: base + offset, count: 4))
        }
        guard offset + valueLength <= contentEnd else { throw malformed(i) }
        let value = UnsafeRawBufferPointer(start: base + offset, count: valueLength)
        return LeafCell(suffix: UnsafeRawBufferPointer(start: base + keyStart, count: keyLength),
                        valueLength: valueLength, inlineValue: value,
                        overflowPage: 0, size: offset + valueLength - start, field: field, rest: value)
    }

    /// Leaf cell `i` as the scan loop reads it, with `leafCell`'s checks: the key's suffix and
    /// the cell's `rest`, its inline value or, when `overflow`, the 4-byte first overflow page
    /// of a value of `valueLength` bytes. Small enough to inline into the loop.
    #if compiler(>=6.3)
    @inline(always)  // SE-0496: the optimizer leaves an `@inline(__always)` call in the big loop
    #else
    @inline(__always)
    #endif
    func scanCell(_ i: Int) throws -> (suffix: UnsafeRawBufferPointer, rest: UnsafeRawBufferPointer, overflow: Bool, valueLength: Int) {
        var offset = try cellOffset(i)
        guard let (keyLength, field) = LeafCellHeader.read(base, &offset, limit: contentEnd) else { throw malformed(i) }
        let overflow = field & 1 == 1
        let restLength = overflow ? 4 : field >> 1
        let restStart = offset + keyLength
        guard restStart + restLength <= contentEnd else { throw malformed(i) }
        return (UnsafeRawBufferPointer(start: base + offset, count: keyLength),
                UnsafeRawBufferPointer(start: base + restStart, count: restLength), overflow, field >> 1)
    }

    /// Size in bytes of cell `i` as stored.
    func cellSize(_ i: Int) throws -> Int {
        if isLeaf { return try leafCell(i).size }
        let start = try cellOffset(i)
        var offset = start + 4
        guard let length = readVarint(base, &offset, limit: contentEnd), offset + length <= contentEnd else { throw malformed(i) }
        return offset + length - start
    }

    /// Cell `i` as a full cell, copied: a leaf cell with its whole key (prefix included).
    func cellBytes(_ i: Int) throws -> [UInt8] {
        guard isLeaf else {
            let start = try cellOffset(i)
            return Array(UnsafeRawBufferPointer(start: base + start, count: try cellSize(i)))
        }
        let cell = try leafCell(i)
        return try withKey(suffix: cell.suffix) { key in
            Cell.leaf(key: key, value: cell.inlineValue, valueLength: cell.valueLength, overflowPage: cell.overflowPage)
        }
    }

    /// First index whose key is >= `key`, and whether it is equal.
    @inline(__always)
    func lowerBound(_ key: UnsafeRawBufferPointer) throws -> (index: Int, found: Bool) {
        let (order, rest) = againstPrefix(key)
        if order != 0 { return (order < 0 ? count : 0, false) }
        return try search(rest, from: 0)
    }

    /// Binary search for the suffix `rest` among the cells from `low` on.
    @inline(__always)
    private func search(_ rest: UnsafeRawBufferPointer, from low: Int) throws -> (index: Int, found: Bool) {
        var low = low, high = count
        while low < high {
            let mid = (low + high) >> 1
            let c = compareKeys(try storedKey(mid), rest)
            if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return (mid, true) }
        }
        return (low, false)
    }

    /// `lowerBound` among the cells from `start` on, for a caller that knows no earlier cell
    /// is at or above `key` (it walks sorted keys through the node): a key at `start` itself,
    /// the common case when a run of neighbours is sought, costs one comparison.
    func lowerBound(_ key: UnsafeRawBufferPointer, from start: Int) throws -> (index: Int, found: Bool) {
        let (order, rest) = againstPrefix(key)
        if order != 0 { return (order < 0 ? count : 0, false) }
        guard start < count else { return (count, false) }
        let first = compareKeys(try storedKey(start), rest)
        if first >= 0 { return (start, first == 0) }
        return try search(rest, from: start + 1)
    }

    /// The child of an interior node that holds `key` (BT-2): the first i with key < Ki.
    @inline(__always)
    func childIndex(for key: UnsafeRawBufferPointer) throws -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) >> 1
            if compareKeys(key, try storedKey(mid)) < 0 { high = mid } else { low = mid + 1 }
        }
        return low
    }

    func malformed(_ i: Int) -> GuildStoreError {
        .corruptPage(page: number, reason: "cell \(i) runs past the end of the page")
    }
}

extension Array where Element == UInt8 {
    /// Whether this key sorts before `other` in memcmp order (`compareKeys`): what sorting
    /// keys in Swift should use, `lexicographicallyPrecedes` compares a byte at a time.
    @inline(__always)
    func precedes(_ other: [UInt8]) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in compareKeys(a, b) < 0 } }
    }
}

/// memcmp order; a shorter key that is a prefix of a longer one sorts first.
/// Compares 8 bytes at a time as big-endian words (no call for the common short keys).
@inline(__always)
func compareKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    if n > 0 {
        let pa = a.baseAddress!, pb = b.baseAddress!
        while i + 8 <= n {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            i += 8
        }
        while i < n {
            let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
    }
    return a.count - b.count
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
