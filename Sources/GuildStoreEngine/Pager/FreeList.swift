/// Free pages are kept in a chain of trunk pages, little-endian:
///
///     offset size  field
///          0    4  CRC32C of bytes 4..<pageSize
///          4    1  page type (5, free-list trunk)
///          5    3  reserved, zero
///          8    4  next trunk page, 0 on the last
///         12    4  entries n
///         16   4n  free page numbers
///
/// The header's free-list head names the first trunk; trunks are free pages themselves and are
/// counted in the header's free page count.
///
/// A page freed by a transaction may be reused by the next one while an older snapshot still
/// reads the page's previous version: that version lives in a WAL frame or in the database
/// file, which a checkpoint overwrites only once no snapshot needs it (TX-2).
///
/// Invariant (PG-4): page 0 (the header) and the catalog root are never freed, so the free
/// page count stays below the page count (`DatabaseHeader.decode` refuses a header where it
/// does not).
enum FreeListLayout {
    static let headerSize = 16
    static func capacity(pageSize: Int) -> Int { (pageSize - headerSize) / 4 }
}

extension WriteTransaction {
    /// A zeroed page for this transaction: from the free list, else from the end of the file.
    func allocatePage() throws -> (UInt32, PageBuffer) {
        pageWrites &+= 1
        let number: UInt32
        let head = workingHeader.freeListHead
        if head != 0 {
            if !engine.state.withLock({ $0.freeListVerified }) {
                try verifyFreeList()
                engine.state.withLock { $0.freeListVerified = true }
            }
            let trunk = try writable(head)
            guard trunk.pointer.load(fromByteOffset: 4, as: UInt8.self) == PageType.freeTrunk.rawValue else {
                throw GuildStoreError.corruptPage(page: head, reason: "free-list head is not a trunk page")
            }
            let count = Int(UnsafeRawPointer(trunk.pointer).u32(12))
            guard count <= FreeListLayout.capacity(pageSize: pageSize) else {
                throw GuildStoreError.corruptPage(page: head, reason: "free-list trunk holds \(count) entries")
            }
            if count > 0 {
                number = UnsafeRawPointer(trunk.pointer).u32(FreeListLayout.headerSize + 4 * (count - 1))
                trunk.pointer.setU32(12, UInt32(count - 1))
            } else {
                number = head
                workingHeader.freeListHead = UnsafeRawPointer(trunk.pointer).u32(8)
            }
            guard number != 0, number < workingHeader.pageCount, workingHeader.freePageCount > 0 else {
                throw GuildStoreError.corruptPage(page: head, reason: "free list names page \(number)")
            }
            workingHeader.freePageCount -= 1
        } else {
            guard workingHeader.pageCount < UInt32.max else {
                throw GuildStoreError.diskFull(path: engine.path)
            }
            number = workingHeader.pageCount
            workingHeader.pageCount += 1
        }
        let buffer = PageBuffer(size: pageSize)
        buffer.lastTouched = pageWrites
        dirty[number] = buffer
        return (number, buffer)
    }

    /// Returns page `number` to the free list.
    func freePage(_ number: UInt32) throws {
        assert(number != 0 && number != workingHeader.catalogRoot && workingHeader.freePageCount + 1 < workingHeader.pageCount,
               "PG-4: page \(number) must not be freed")
        pageWrites &+= 1
        appendHints.removeAll()  // BT-5
        if number >= snapshot.header.pageCount {
            // Allocated past the old end by this transaction: it was never written, so it
            // still goes to the WAL, as a blank sealed page. Otherwise the file would end
            // short of the header's page count, with free-list entries naming pages that
            // exist nowhere (and fail every read).
            dirty[number] = PageBuffer(size: pageSize)
        } else {
            dirty.removeValue(forKey: number)
            spilled.removeValue(forKey: number)  // TS-1: a free page's content is nobody's
        }
        let head = workingHeader.freeListHead
        if head != 0 {
            let trunk = try writable(head)
            guard trunk.pointer.load(fromByteOffset: 4, as: UInt8.self) == PageType.freeTrunk.rawValue else {
                throw GuildStoreError.corruptPage(page: head, reason: "free-list head is not a trunk page")
            }
            let count = Int(UnsafeRawPointer(trunk.pointer).u32(12))
            if count < FreeListLayout.capacity(pageSize: pageSize) {
                trunk.pointer.setU32(FreeListLayout.headerSize + 4 * count, number)
                trunk.pointer.setU32(12, UInt32(count + 1))
                try countFreedPage()
                return
            }
        }
        let buffer = PageBuffer(size: pageSize)
        buffer.pointer.setU8(4, PageType.freeTrunk.rawValue)
        buffer.pointer.setU32(8, head)
        dirty[number] = buffer
        workingHeader.freeListHead = number
        try countFreedPage()
    }

    /// DISK-7: a page the free list hands out is not in use. The list comes from disk, and a
    /// lost write of a trunk (a stale copy) lists pages that were handed out since, so before
    /// the first page is taken from it after the engine opened, the whole list is walked:
    /// every trunk is a trunk page with at most a page's worth of entries, every page number
    /// lies inside the database and is neither 0 nor the catalog root, none is listed twice,
    /// and the pages add up to the header's free page count. Once it passed, only this engine
    /// writes the list. The walk reads only the trunks (one per 1,020 free pages at 4 KiB), once
    /// per open. A stale trunk with as many entries as the current one is not caught here
    /// (`check` finds its pages used twice).
    func verifyFreeList() throws {
        _ = try freeListPages()
    }

    /// Adds a page to the header's free page count. DISK-3: the count comes from disk; free
    /// pages (trunks included) are fewer than all pages (the header page is never free), so a
    /// count that would reach the page count is corruption, not a trap at UInt32.max.
    private func countFreedPage() throws {
        guard workingHeader.freePageCount + 1 < workingHeader.pageCount else {
            throw GuildStoreError.corruptHeader(path: engine.path, reason: "free page count \(workingHeader.freePageCount) reaches the page count \(workingHeader.pageCount)")
        }
        workingHeader.freePageCount += 1
    }
}

extension Transaction {
    /// The free list as this transaction sees it, walked and checked as DISK-7 demands: its
    /// trunk pages (which hold the list, so a copy of the database keeps them) and the free
    /// pages they list (whose content nothing reads: a page taken from the list is handed out
    /// zeroed). Throws `.corruptPage` for a list that is not a proper free list.
    func freeListPages() throws -> (trunks: [UInt32], listed: [UInt32]) {
        let header = self.header
        let head = header.freeListHead
        let capacity = FreeListLayout.capacity(pageSize: pageSize)
        var seen: Set<UInt32> = []
        var trunks: [UInt32] = [], listedPages: [UInt32] = []
        func listed(_ page: UInt32, in trunk: UInt32) throws {
            guard page != 0, page != header.catalogRoot, page < header.pageCount, seen.insert(page).inserted else {
                throw GuildStoreError.corruptPage(page: trunk, reason: "free list names page \(page), which is not a free page of the database")
            }
        }
        var trunk = head, previous = head
        while trunk != 0 {
            try listed(trunk, in: previous)
            trunks.append(trunk)
            let ref = try page(trunk)
            let next = try withExtendedLifetime(ref.owner) {
                let count = Int(ref.base.u32(12))
                guard ref.base.u8(4) == PageType.freeTrunk.rawValue, count <= capacity else {
                    throw GuildStoreError.corruptPage(page: trunk, reason: "free-list trunk has page type \(ref.base.u8(4)) and \(count) entries")
                }
                for i in 0..<count {
                    let entry = ref.base.u32(FreeListLayout.headerSize + 4 * i)
                    try listed(entry, in: trunk)
                    listedPages.append(entry)
                }
                return ref.base.u32(8)
            }
            (previous, trunk) = (trunk, next)
        }
        guard seen.count == Int(header.freePageCount) else {
            throw GuildStoreError.corruptPage(page: head, reason: "free list holds \(seen.count) pages, the header says \(header.freePageCount)")
        }
        return (trunks, listedPages)
    }
}
