/// Page number -> the committed versions of that page that live in the WAL and are not yet
/// superseded in the database file, and which of their images are held in memory
/// (`EngineState.walIndex`).
///
/// Every version names its frame: its index in the log's current generation. The image is kept
/// in memory only while the resident images fit `residentLimit`; past it the images resident
/// longest are dropped and read back from the log file when asked for
/// (`StorageEngine.readFrameImage`), so a bulk load or a snapshot holding back the checkpoint
/// costs log file, not memory.
///
/// Invariants:
/// (WI-1) A version's frame was appended before the version was added, and frames never move
///      or change within a generation (WAL-1); the log restarts only once the index is empty
///      (WAL-3). So while a version is in the index, its frame's bytes are its image. A reader
///      that found a version here and then reads its frame outside the engine's lock checks
///      that the log's generation is still the one it looked the version up in (it may have
///      been checkpointed and the log restarted over it meanwhile).
/// (WI-2) `residentImages` is the number of versions whose image is in memory, at most
///      `residentLimit` after every mutation; every such version has a record in
///      `residentOrder` (records of versions dropped or evicted since are skipped when met).
struct WALIndex {
    /// One committed version of a page.
    struct Version {
        var sequence: UInt64
        /// Index of the frame holding it in the log's current generation (from 0).
        var frame: Int
        /// The image, when resident (WI-2); nil: read it from `frame`.
        var image: PageBuffer?
    }

    private var table = PageTable<FrameVersions>()
    private var residentOrder: [(page: UInt32, sequence: UInt64)] = []
    /// Records of `residentOrder` before this are consumed.
    private var orderStart = 0
    private(set) var residentImages = 0
    /// Most images held in memory at once.
    let residentLimit: Int

    init(residentLimit: Int) {
        self.residentLimit = max(0, residentLimit)
    }

    var isEmpty: Bool { table.isEmpty }
    /// Pages with a version in the WAL.
    var count: Int { table.count }

    subscript(page: UInt32) -> FrameVersions? { table[page] }

    /// Every page and its versions, in no particular order.
    var entries: [(page: UInt32, element: FrameVersions)] { table.entries }

    /// Adds a newly appended version of `page`, drops the versions no snapshot can read any
    /// more (`pinned`: sorted sequences of live snapshots and the published commit), and
    /// evicts the longest-resident images past the limit (WI-2).
    mutating func add(page: UInt32, _ version: Version, pinned: [UInt64]) {
        let resident = version.image != nil && residentLimit > 0
        var added = version
        if !resident { added.image = nil }
        if var versions = table.removeValue(forKey: page) {
            assert(versions.entries.last.map { $0.sequence < added.sequence } ?? true,
                   "TX-3: a page's WAL versions must come in increasing sequence order")
            versions.entries.append(added)
            residentImages -= versions.dropUnreadable(readerSequences: pinned)
            table[page] = versions
        } else {
            table[page] = FrameVersions(entries: [added])
        }
        if resident { noteResident(page: page, sequence: added.sequence) }
    }

    /// Keeps `image`, read back from the log, as the resident image of `page`'s version
    /// `sequence` if that version is still here without one (a reader's read; WI-2).
    mutating func promote(page: UInt32, sequence: UInt64, image: PageBuffer) {
        guard residentLimit > 0, var versions = table[page],
              let i = versions.entries.firstIndex(where: { $0.sequence == sequence }),
              versions.entries[i].image == nil else { return }
        versions.entries[i].image = image
        table[page] = versions
        noteResident(page: page, sequence: sequence)
    }

    /// Removes `page`'s versions at or below `sequence`: they are in the database file now.
    mutating func removeCheckpointed(page: UInt32, through sequence: UInt64) {
        guard var versions = table.removeValue(forKey: page) else { return }
        residentImages -= versions.entries.count { $0.sequence <= sequence && $0.image != nil }
        versions.entries.removeAll { $0.sequence <= sequence }
        if !versions.entries.isEmpty { table[page] = versions }
        if table.isEmpty { forgetOrder() }
    }

    /// Empties the index (a vacuum replaced the database file).
    mutating func removeAll() {
        table.removeAll()
        residentImages = 0
        forgetOrder()
    }

    private mutating func noteResident(page: UInt32, sequence: UInt64) {
        residentImages += 1
        residentOrder.append((page, sequence))
        while residentImages > residentLimit, orderStart < residentOrder.count {
            let oldest = residentOrder[orderStart]
            orderStart += 1
            evict(page: oldest.page, sequence: oldest.sequence)
        }
        // Records of versions dropped or evicted since they were noted pile up: compact when
        // they outnumber the resident images, so the array stays a small multiple of them.
        if residentOrder.count > 2 * residentImages + 1024 {
            residentOrder = residentOrder[orderStart...].filter { record in
                self.table[record.page]?.entries.contains { $0.sequence == record.sequence && $0.image != nil } ?? false
            }
            orderStart = 0
        }
    }

    private mutating func evict(page: UInt32, sequence: UInt64) {
        guard var versions = table[page],
              let i = versions.entries.firstIndex(where: { $0.sequence == sequence }),
              versions.entries[i].image != nil else { return }
        versions.entries[i].image = nil
        table[page] = versions
        residentImages -= 1
    }

    private mutating func forgetOrder() {
        residentOrder.removeAll(keepingCapacity: false)
        orderStart = 0
    }
}

/// The committed versions of one page that live in the WAL, oldest first.
struct FrameVersions {
    var entries: [WALIndex.Version]

    /// Drops versions no snapshot can read: a version is needed only while some snapshot's
    /// sequence lies between it and the next newer version. `readerSequences` is sorted.
    /// Returns how many of the dropped versions had a resident image.
    mutating func dropUnreadable(readerSequences: [UInt64]) -> Int {
        guard entries.count > 1 else { return 0 }
        var kept: [WALIndex.Version] = []
        kept.reserveCapacity(2)
        var droppedResident = 0
        for i in 0..<(entries.count - 1) {
            let from = entries[i].sequence, to = entries[i + 1].sequence
            // First reader sequence >= from; needed when it is below `to`.
            var low = 0, high = readerSequences.count
            while low < high {
                let mid = (low + high) / 2
                if readerSequences[mid] < from { low = mid + 1 } else { high = mid }
            }
            if low < readerSequences.count && readerSequences[low] < to {
                kept.append(entries[i])
            } else if entries[i].image != nil {
                droppedResident += 1
            }
        }
        kept.append(entries[entries.count - 1])
        entries = kept
        return droppedResident
    }

    /// The newest version at or below `sequence`.
    @inline(__always)
    func newest(atOrBelow sequence: UInt64) -> WALIndex.Version? {
        var i = entries.count - 1
        while i >= 0 {
            if entries[i].sequence <= sequence { return entries[i] }
            i -= 1
        }
        return nil
    }
}
