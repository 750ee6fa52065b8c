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
///         22    2  reserved, zero
///         24   2n  slot array: offset of each cell, in key order
///
/// Leaf cell:     varint key length, varint (value length << 1 | overflow flag), key bytes,
///                then the value bytes, or the 4-byte first overflow page when flagged.
/// Interior cell: 4-byte left child page, varint key length, key bytes.
///
/// Invariants:
/// (B1) Keys in a node are strictly increasing in memcmp order.
/// (B2) In an interior node with keys K0..Kn-1 and children C0..Cn (Cn is the right-most
///      child), every key under Ci is < Ki and >= Ki-1.
/// (B3) Every cell is at most `maxCellSize` bytes, so any node's cells split into two halves
///      that each fit a page.
/// (B5) Inserting a key above every key of the right-most leaf goes straight to that leaf
///      (`WriteTransaction.appendHints`): valid while no split of that tree, merge or free
///      reshapes it.
/// (B4) A tree's root page never moves: a root split moves the root's cells into a new child,
///      a root with one child takes that child's cells back. The catalog stores roots once.
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
        let start = Int(base.u32(8))
        guard NodeLayout.headerSize + count * NodeLayout.slotSize <= start, start <= pageSize else {
            throw GuildStoreError.corruptPage(page: number, reason: "cell count \(count) and content start \(start) overlap")
        }
    }

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
        guard offset >= contentStart, offset < pageSize else {
            throw GuildStoreError.corruptPage(page: number, reason: "cell \(i) offset \(offset) outside the content area")
        }
        return offset
    }

    /// The key of cell `i`, leaf or interior.
    @inline(__always)
    func key(_ i: Int) throws -> UnsafeRawBufferPointer {
        var offset = try cellOffset(i)
        if !isLeaf { offset += 4 }
        guard let length = readVarint(base, &offset, limit: pageSize) else { throw malformed(i) }
        if isLeaf {
            guard readVarint(base, &offset, limit: pageSize) != nil else { throw malformed(i) }
        }
        guard offset + length <= pageSize else { throw malformed(i) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// Child pointer `i` of an interior node: the left child of cell i, or the right-most
    /// child for i == count.
    @inline(__always)
    func child(_ i: Int) throws -> UInt32 {
        let page = i == count ? rightChild : base.u32(try cellOffset(i))
        guard page != 0, page != number else {
            throw GuildStoreError.corruptPage(page: number, reason: "child \(i) points at page \(page)")
        }
        return page
    }

    struct LeafCell {
        var key: UnsafeRawBufferPointer
        var valueLength: Int
        /// The inline value, or nil when the value lives in overflow pages.
        var inlineValue: UnsafeRawBufferPointer?
        var overflowPage: UInt32
        var size: Int
    }

    func leafCell(_ i: Int) throws -> LeafCell {
        let start = try cellOffset(i)
        var offset = start
        guard let keyLength = readVarint(base, &offset, limit: pageSize),
              let field = readVarint(base, &offset, limit: pageSize) else { throw malformed(i) }
        let valueLength = field >> 1
        let overflow = field & 1 == 1
        let keyStart = offset
        offset += keyLength
        if overflow {
            guard offset + 4 <= pageSize else { throw malformed(i) }
            let page = base.u32(offset)
            return LeafCell(key: UnsafeRawBufferPointer(start: base + keyStart, count: keyLength),
                            valueLength: valueLength, inlineValue: nil, overflowPage: page,
                            size: offset + 4 - start)
        }
        guard offset + valueLength <= pageSize else { throw malformed(i) }
        return LeafCell(key: UnsafeRawBufferPointer(start: base + keyStart, count: keyLength),
                        valueLength: valueLength,
                        inlineValue: UnsafeRawBufferPointer(start: base + offset, count: valueLength),
                        overflowPage: 0, size: offset + valueLength - start)
    }

    /// Size in bytes of cell `i` as stored.
    func cellSize(_ i: Int) throws -> Int {
        if isLeaf { return try leafCell(i).size }
        let start = try cellOffset(i)
        var offset = start + 4
        guard let length = readVarint(base, &offset, limit: pageSize), offset + length <= pageSize else { throw malformed(i) }
        return offset + length - start
    }

    /// The bytes of cell `i`, copied.
    func cellBytes(_ i: Int) throws -> [UInt8] {
        let start = try cellOffset(i)
        let size = try cellSize(i)
        return Array(UnsafeRawBufferPointer(start: base + start, count: size))
    }

    /// First index whose key is >= `key`, and whether it is equal.
    @inline(__always)
    func lowerBound(_ key: UnsafeRawBufferPointer) throws -> (index: Int, found: Bool) {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) >> 1
            let c = compareKeys(try self.key(mid), key)
            if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return (mid, true) }
        }
        return (low, false)
    }

    /// The child of an interior node that holds `key` (B2): the first i with key < Ki.
    @inline(__always)
    func childIndex(for key: UnsafeRawBufferPointer) throws -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) >> 1
            if compareKeys(key, try self.key(mid)) < 0 { high = mid } else { low = mid + 1 }
        }
        return low
    }

    func malformed(_ i: Int) -> GuildStoreError {
        .corruptPage(page: number, reason: "cell \(i) runs past the end of the page")
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
