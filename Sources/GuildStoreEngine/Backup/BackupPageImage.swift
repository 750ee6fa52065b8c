/// How a backup stores a page.
///
/// Invariant (BK-7): a backup stores a B+tree node (a leaf or an interior page, not the header
/// page) with the gap between its slot array and its cells zeroed and its checksum sealed
/// again, and every other page as it is. Nothing reads that gap (BT-8: slots point into the
/// content area), so the node means exactly what it meant; stale bytes there (a shrunk slot
/// array, cells moved by an edit) are 6 % of a typical file and compress poorly. The manifest
/// hashes the page as stored, so incrementals compare like with like and a restore checks
/// what it wrote. A page whose header breaks BT-8 is stored as it is, for the check to name.
enum BackupPageImage {
    /// `page` (number `number`) as a backup stores it: `page` itself when it is not a node or
    /// its gap is zero already, else `scratch` (a page-sized buffer) holding the zeroed copy,
    /// sealed with `salt` (WALR-9).
    static func image(of page: UnsafeRawPointer, number: UInt32, pageSize: Int, salt: UInt32,
                      scratch: UnsafeMutableRawPointer) -> UnsafeRawPointer {
        let type = page.u8(4)
        guard number != 0, type == PageType.leaf.rawValue || type == PageType.interior.rawValue else { return page }
        let gapStart = NodeLayout.headerSize + NodeLayout.slotSize * page.u16(6)
        let contentStart = Int(page.u32(8))
        guard gapStart < contentStart, contentStart <= pageSize, !isZero(page + gapStart, count: contentStart - gapStart) else {
            return page
        }
        scratch.copyMemory(from: page, byteCount: pageSize)
        (scratch + gapStart).initializeMemory(as: UInt8.self, repeating: 0, count: contentStart - gapStart)
        sealPage(scratch, number: number, size: pageSize, salt: salt)
        return UnsafeRawPointer(scratch)
    }

    /// Whether `count` bytes at `bytes` are all zero, eight at a time.
    private static func isZero(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        var offset = 0
        while offset + 8 <= count {
            if bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != 0 { return false }
            offset += 8
        }
        while offset < count {
            if bytes.load(fromByteOffset: offset, as: UInt8.self) != 0 { return false }
            offset += 1
        }
        return true
    }
}
