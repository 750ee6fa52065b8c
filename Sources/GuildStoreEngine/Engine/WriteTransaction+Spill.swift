/// Spilling: a write transaction whose changed pages pass `transactionCacheBytes` writes them
/// to the WAL before its commit and keeps only where they went, so one transaction's memory
/// is bounded however much it writes (a bulk load, a retention pass, an import). SQLite's
/// pager spills its cache the same way.
///
/// Invariants:
/// (TS-1) A spill appends sealed pages as frames without a commit marker, all carrying the
///      stamp the commit will carry (WAL-6), and moves each page from `dirty` to `spilled`
///      (page -> frame). No snapshot sees them (the WAL index names them only when the commit
///      is appended) and recovery never applies them without the commit marker that follows
///      (WAL-2). A page is read from `dirty` first, then from its spilled frame, then from the
///      snapshot; a page in both is its `dirty` buffer (the frame is dead), and `writable`
///      takes a spilled page back into `dirty`. The commit appends what `dirty` holds and
///      indexes the other spilled pages at their frames: the last frame of each page (WAL-5).
/// (TS-2) A transaction that spilled and then rolls back, or whose commit fails to append,
///      rewinds the log to where it stood before the first spill, so the next commit's frames
///      take their place and none of the dead ones falls inside a later commit.
/// (TS-3) Spills happen only at a spill point: the start of a put or a delete, or between two
///      deferred entries (DP-1), where no `Node` of the transaction's pages is held without
///      its `PageRef` (B+tree edits keep raw nodes only within one call; cursors and leaf
///      fingers keep their page's buffer alive). The read pins (TX-7) count in the budget and
///      are dropped there too, alone or with a spill; either moves `pageWrites` on, so
///      remembered leaves (`LeafFinger`) are looked up again.
extension WriteTransaction {
    /// A spill point (TS-3): keeps the pages the transaction holds, changed (`dirty`) and read
    /// (`readPins`, TX-7), within its budget. Past it, the read pins go first: they are only
    /// copies of pages the snapshot or the log still has (a page read back from the log, or
    /// a log image the WAL cache has let go of). When the changed pages alone pass it, they
    /// spill. Without the pins in the count, a transaction reading a long WAL held every page
    /// it read, outside the budget (the default profile's import peaked 14 MB higher).
    @inline(__always)
    func spillIfOverBudget() throws {
        guard dirty.count + readPins.count > spillPageLimit else { return }
        if dirty.count > spillPageLimit {
            try spill()
        } else {
            dropReadPins()
        }
    }

    /// Lets go of the pages read so far (TX-7), at a spill point (TS-3), where no `Node` of
    /// them is held without its `PageRef`. Moves `pageWrites` on, as a spill does, so no
    /// remembered leaf outlives its buffer.
    private func dropReadPins() {
        readPins.removeAll()
        pageWrites &+= 1
    }

    /// Writes changed pages to the WAL until half the budget is left in memory (TS-1): the pages
    /// touched longest ago first. Interior nodes, the header page and the leaves sequential
    /// inserts are filling (BT-5) stay: they are touched again soonest. When they alone fill
    /// half the budget, they go too (all but the header).
    private func spill() throws {
        let kept = Set(appendHints.map(\.leaf)).union([0])
        let interior = PageType.interior.rawValue
        var candidates = dirty.entries.filter { entry in
            !kept.contains(entry.page) && entry.element.pointer.load(fromByteOffset: 4, as: UInt8.self) != interior
        }
        let target = spillPageLimit / 2
        if dirty.count - candidates.count > target {
            candidates = dirty.entries.filter { $0.page != 0 }
        }
        candidates.sort { $0.element.lastTouched < $1.element.lastTouched }
        var pages = candidates.prefix(max(0, dirty.count - target))
        guard !pages.isEmpty else { return }
        pages.sort { $0.page < $1.page }
        let images = pages.map { (page: $0.page, image: $0.element) }
        if engine.configuration.verifiesPagesOnCommit { try verifyWrittenNodes(images) }  // DISK-11
        let stamp: CommitStamp
        if let spillStamp {
            stamp = spillStamp
        } else {
            stamp = try engine.spillStamp()
            spillTail = engine.walTail
            spillStamp = stamp
        }
        let salt = snapshot.view.checksumSalt
        for entry in images { sealPage(entry.image.pointer, number: entry.page, size: pageSize, salt: salt) }
        let first = try engine.spill(pages: images, stamp: stamp)
        for (i, entry) in images.enumerated() {
            spilled[entry.page] = first + i
            dirty.removeValue(forKey: entry.page)
        }
        dropReadPins()
    }

    /// The image of a page this transaction spilled and has not changed since (TS-1), read
    /// back from its frame.
    func readSpilled(_ number: UInt32, frame: Int) throws -> PageBuffer {
        try engine.readSpilledImage(frame: frame, page: number, checksumSalt: snapshot.view.checksumSalt)
    }

    /// The spilled pages the commit indexes at their frames: those `dirty` does not hold again.
    var spilledVersions: [(page: UInt32, frame: Int)] {
        spilled.entries.filter { dirty[$0.page] == nil }.map { (page: $0.page, frame: $0.element) }
    }

    /// TS-2: forgets the spilled frames and rewinds the log over them.
    func discardSpills() {
        if let spillTail { engine.rewindLog(to: spillTail) }
        spillTail = nil
        spillStamp = nil
        spilled.removeAll()
    }
}
