/// Overflow pages hold values too large for a leaf cell, as a chain. Little-endian:
///
///     offset size  field
///          0    4  CRC32C of bytes 4..<pageSize
///          4    1  page type (4, overflow)
///          5    3  reserved, zero
///          8    4  next overflow page, 0 on the last
///         12    4  bytes of value data in this page
///         16    …  value data
enum OverflowLayout {
    static let headerSize = 16
    static func capacity(pageSize: Int) -> Int { pageSize - headerSize }
    /// Values up to 1 GiB; a chain is walked with a page budget derived from the length.
    static let maximumValueSize = 1 << 30
}

extension Transaction {
    /// Reads a value of `length` bytes from the chain starting at `first`.
    func readOverflow(first: UInt32, length: Int) throws -> [UInt8] {
        let capacity = OverflowLayout.capacity(pageSize: pageSize)
        guard length <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.corruptPage(page: first, reason: "overflow value length \(length) is impossible")
        }
        var result = [UInt8](repeating: 0, count: length)
        var page = first
        var copied = 0
        var budget = (length + capacity - 1) / capacity
        try result.withUnsafeMutableBytes { out in
            while copied < length {
                guard page != 0, budget > 0 else {
                    throw GuildStoreError.corruptPage(page: page, reason: "overflow chain ends early")
                }
                budget -= 1
                let ref = try self.page(page)
                guard ref.base.u8(4) == PageType.overflow.rawValue else {
                    throw GuildStoreError.corruptPage(page: page, reason: "expected an overflow page")
                }
                let used = Int(ref.base.u32(12))
                guard used > 0, used <= capacity, copied + used <= length else {
                    throw GuildStoreError.corruptPage(page: page, reason: "overflow page holds \(used) bytes")
                }
                (out.baseAddress! + copied).copyMemory(from: ref.base + OverflowLayout.headerSize, byteCount: used)
                copied += used
                page = ref.base.u32(8)
            }
        }
        return result
    }

    /// The pages of an overflow chain, for freeing and for integrity checks.
    func overflowPages(first: UInt32, length: Int) throws -> [UInt32] {
        let capacity = OverflowLayout.capacity(pageSize: pageSize)
        guard length <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.corruptPage(page: first, reason: "overflow value length \(length) is impossible")
        }
        var pages: [UInt32] = []
        // DISK-2: a chain that comes back to a page would be freed twice (the free list would
        // hand that page out twice); each page of a chain is listed once or the chain is corrupt.
        var seen: Set<UInt32> = []
        var page = first
        let expected = (length + capacity - 1) / capacity
        while pages.count < expected {
            guard page != 0 else { throw GuildStoreError.corruptPage(page: first, reason: "overflow chain ends early") }
            guard seen.insert(page).inserted else {
                throw GuildStoreError.corruptPage(page: first, reason: "overflow chain reaches page \(page) twice")
            }
            let ref = try self.page(page)
            guard ref.base.u8(4) == PageType.overflow.rawValue else {
                throw GuildStoreError.corruptPage(page: page, reason: "expected an overflow page")
            }
            pages.append(page)
            page = ref.base.u32(8)
        }
        return pages
    }
}

extension WriteTransaction {
    /// Writes `value` to a new overflow chain and returns its first page.
    func writeOverflow(_ value: UnsafeRawBufferPointer) throws -> UInt32 {
        let capacity = OverflowLayout.capacity(pageSize: pageSize)
        let count = (value.count + capacity - 1) / capacity
        var pages: [(UInt32, PageBuffer)] = []
        pages.reserveCapacity(count)
        for _ in 0..<count { pages.append(try allocatePage()) }
        for (i, (_, buffer)) in pages.enumerated() {
            let start = i * capacity
            let used = min(capacity, value.count - start)
            buffer.pointer.setU8(4, PageType.overflow.rawValue)
            buffer.pointer.setU32(8, i + 1 < count ? pages[i + 1].0 : 0)
            buffer.pointer.setU32(12, UInt32(used))
            (buffer.pointer + OverflowLayout.headerSize).copyMemory(from: value.baseAddress! + start, byteCount: used)
        }
        return pages[0].0
    }

    func freeOverflow(first: UInt32, length: Int) throws {
        for page in try overflowPages(first: first, length: length) { try freePage(page) }
    }
}
