/// The cells of one or two adjacent leaves plus one new full cell, in key order: what a split,
/// a share between siblings or a prefix change redistributes. The leaves are read from copies
/// (they are the pages being rewritten), and a cell is never copied into an array of its own:
/// `write(_:into:)` places a range of cells straight into a leaf under the range's prefix.
///
/// A cell's key comes in two parts: its leaf's prefix (`head`) and the suffix it stores
/// (`tail`); the new cell's whole key is its tail.
struct LeafCells {
    private struct Parts {
        var head: UnsafeRawBufferPointer
        var tail: UnsafeRawBufferPointer
        var field: Int
        var rest: UnsafeRawBufferPointer
        /// Which page copy the cell came from; -1 for the new cell.
        var source: Int
        var keyLength: Int { head.count + tail.count }
    }

    private var cells: [Parts] = []
    let pageSize: Int

    /// Calls `body` with the cells of `leaves` (adjacent, in key order) and the full cell
    /// `cell` at `position` among them. The leaves may be rewritten inside `body`.
    static func with<T>(_ leaves: [MutableNode], inserting cell: UnsafeRawBufferPointer, at position: Int,
                        pageSize: Int, _ body: (LeafCells) throws -> T) throws -> T {
        let copies = UnsafeMutableRawPointer.allocate(byteCount: pageSize * leaves.count, alignment: 16)
        defer { copies.deallocate() }
        var result = LeafCells(pageSize: pageSize)
        var count = 0
        for (n, leaf) in leaves.enumerated() {
            let copy = copies + n * pageSize
            copy.copyMemory(from: leaf.base, byteCount: pageSize)
            let view = try Node(PageRef(base: UnsafeRawPointer(copy), owner: nil), number: leaf.number, pageSize: pageSize)
            count += view.count
            result.cells.reserveCapacity(count + 1)
            for i in 0..<view.count {
                let stored = try view.leafCell(i)
                result.cells.append(Parts(head: view.prefix, tail: stored.suffix, field: stored.field, rest: stored.rest, source: n))
            }
        }
        guard position <= result.cells.count else {
            throw GuildStoreError.corruptPage(page: leaves.first?.number ?? 0, reason: "insert position \(position) past \(result.cells.count) cells")
        }
        let parsed = try Cell.parseLeaf(cell, page: leaves.first?.number ?? 0)
        result.cells.insert(Parts(head: UnsafeRawBufferPointer(start: nil, count: 0), tail: parsed.key, field: parsed.field,
                                  rest: parsed.rest, source: -1), at: position)
        return try body(result)
    }

    var count: Int { cells.count }

    /// Bytes cell `i` takes as a full cell (no prefix stripped), its slot included.
    func fullBytes(_ i: Int) -> Int {
        let c = cells[i]
        return LeafCellHeader.size(keyLength: c.keyLength, field: c.field) + c.keyLength + c.rest.count + NodeLayout.slotSize
    }

    /// Leading bytes the keys of cells `i` and `j` share.
    func sharedPrefix(_ i: Int, _ j: Int) -> Int {
        let a = cells[i], b = cells[j]
        if a.source == b.source, a.source >= 0 { return a.head.count + commonPrefix(a.tail, b.tail) }
        let n = min(a.keyLength, b.keyLength)
        var k = 0
        while k < n, Self.byte(a, k) == Self.byte(b, k) { k += 1 }
        return k
    }

    private static func byte(_ c: Parts, _ k: Int) -> UInt8 {
        k < c.head.count ? c.head[k] : c.tail[k - c.head.count]
    }

    /// Cell `i`'s whole key.
    func key(_ i: Int) -> [UInt8] {
        Array(cells[i].head) + Array(cells[i].tail)
    }

    /// The prefix a leaf of cells `range` takes (BT-6): what its first and last keys share.
    func prefixLength(_ range: Range<Int>) -> Int {
        range.isEmpty ? 0 : sharedPrefix(range.lowerBound, range.upperBound - 1)
    }

    /// Bytes a leaf of cells `range` needs past its header: stored cells, slots and prefix.
    func storedBytes(_ range: Range<Int>) -> Int {
        let p = prefixLength(range)
        var total = p
        for i in range {
            let c = cells[i]
            total += LeafCellHeader.size(keyLength: c.keyLength - p, field: c.field) + c.keyLength - p + c.rest.count + NodeLayout.slotSize
        }
        return total
    }

    /// Replaces `leaf`'s content with cells `range` under their longest shared prefix (BT-6).
    /// The cells must fit (`storedBytes`).
    func write(_ range: Range<Int>, into leaf: MutableNode) throws {
        let p = prefixLength(range)
        let base = leaf.base
        NodeLayout.initialize(base, pageSize: pageSize, type: .leaf)
        if let first = range.first {
            key(first).withUnsafeBytes { leaf.setPrefix(UnsafeRawBufferPointer(rebasing: $0[..<p])) }
        }
        var offset = pageSize - p
        var slot = NodeLayout.headerSize
        for i in range {
            let c = cells[i]
            let stored = c.keyLength - p
            let size = LeafCellHeader.size(keyLength: stored, field: c.field) + stored + c.rest.count
            offset -= size
            guard offset >= slot + NodeLayout.slotSize else {
                throw GuildStoreError.corruptPage(page: leaf.number, reason: "cells do not fit the page while rebuilding")
            }
            var at = offset + LeafCellHeader.write(keyLength: stored, field: c.field, to: base + offset)
            if p < c.head.count {
                let headPart = c.head.count - p
                (base + at).copyMemory(from: c.head.baseAddress! + p, byteCount: headPart)
                at += headPart
                if c.tail.count > 0 { (base + at).copyMemory(from: c.tail.baseAddress!, byteCount: c.tail.count) }
                at += c.tail.count
            } else if stored > 0 {
                (base + at).copyMemory(from: c.tail.baseAddress! + (p - c.head.count), byteCount: stored)
                at += stored
            }
            if c.rest.count > 0 { (base + at).copyMemory(from: c.rest.baseAddress!, byteCount: c.rest.count) }
            base.setU16(slot, offset)
            slot += NodeLayout.slotSize
        }
        base.setU16(6, range.count)
        base.setU32(8, UInt32(offset))
        assert(leaf.headerIsConsistent, "BT-8: the rebuilt leaf's header does not fit its page")
    }

    /// Where to divide the cells between two leaves: among the cuts that leave each side
    /// between 3/8 and 5/8 of the bytes and no more than a page, the one between the two
    /// adjacent keys that share the fewest leading bytes (nearest the middle among equals);
    /// without such a cut, the one nearest the middle. Keys that grow at the ends of many runs
    /// (an index on `(user_id, created_at)`: every user's entries arrive at the end of that
    /// user's run) are then cut between runs, not inside one, where the run's older half would
    /// be left in a page no insert ever reaches again; and the parent's separator is as short
    /// as it gets (suffix truncation).
    func cut() -> Int {
        var total = 0
        for i in 0..<count { total += fullBytes(i) }
        let limit = pageSize - NodeLayout.headerSize
        let low = max(total * 3 / 8, total - limit), high = min(total * 5 / 8, limit)
        var left = 0
        var best = (cut: 0, shared: Int.max, distance: Int.max)
        var middle = (cut: max(1, count / 2), distance: Int.max)
        for i in 1..<count {
            left += fullBytes(i - 1)
            let distance = abs(left * 2 - total)
            if distance < middle.distance { middle = (i, distance) }
            guard left >= low, left <= high else { continue }
            let shared = sharedPrefix(i - 1, i)
            if shared < best.shared || (shared == best.shared && distance < best.distance) {
                best = (i, shared, distance)
            }
        }
        return best.shared == Int.max ? middle.cut : best.cut
    }
}
