import CGuildStoreSupport

/// The database file as readers see it: the file handle, its read-only mapping, and one
/// "verified since last written" bit per page.
///
/// Invariants:
/// (PG-2) The file is written only with pwrite (checkpoint, vacuum), never through the mapping,
///      and never truncated while a mapping of it lives (FILE-1).
/// (PG-3) A page's verified bit is cleared after a checkpoint rewrites the page and before any
///      reader can be sent to the file for it; a clean page with its bit set is read zero-copy.
final class FileView: @unchecked Sendable {
    // Safe to share: every stored property is immutable after init; the bitset is accessed
    // only through relaxed/acquire-release atomics (gs_bit_*).
    let file: any FileHandleIO
    let mapping: MappedRegion?
    let pageSize: Int
    /// Pages reachable through the mapping; pages past it are read with pread.
    let mappedPages: Int
    /// The database's page checksum salt (WALR-9).
    let checksumSalt: UInt32
    private let verified: UnsafeMutablePointer<UInt64>
    private let verifiedWords: Int

    init(file: any FileHandleIO, pageSize: Int, reservation: Int, checksumSalt: UInt32) throws {
        self.file = file
        self.pageSize = pageSize
        self.checksumSalt = checksumSalt
        let pages = max(1, reservation / pageSize)
        mapping = reservation > 0 ? try file.mapReadOnly(length: pages * pageSize) : nil
        mappedPages = mapping == nil ? 0 : pages
        verifiedWords = (max(pages, 1) + 63) / 64
        verified = .allocate(capacity: verifiedWords)
        verified.initialize(repeating: 0, count: verifiedWords)
    }

    deinit {
        verified.deallocate()
    }

    /// Forgets that `page` was verified: its bytes on disk are about to change or just did.
    func invalidate(_ page: UInt32) {
        if Int(page) < mappedPages { gs_bit_clear(verified, UInt64(page)) }
    }

    /// Forgets every page below `pages` was verified, with no page read through the view
    /// meanwhile (a read-only opening's reload after its owner restarted the log, between its
    /// snapshots). Pages are marked verified only once read inside the file, and the file never
    /// shrinks under a mapping (FILE-1), so its size in pages now bounds every mark.
    func invalidateAll(below pages: Int) {
        let words = min(verifiedWords, (max(0, min(pages, mappedPages)) + 63) / 64)
        verified.update(repeating: 0, count: words)
    }

    /// Starts loading page `number` into the CPU's caches when that costs nothing else: the page
    /// is mapped, inside the file and verified already. A hint: it reads nothing and never fails.
    func prefetch(_ number: UInt32, fileBytes: Int64) {
        guard Int(number) < mappedPages, let mapping,
              (Int64(number) + 1) * Int64(pageSize) <= fileBytes,
              gs_bit_test(verified, UInt64(number)) != 0 else { return }
        gs_prefetch(mapping.base + Int(number) * pageSize, pageSize)
    }

    /// Reads page `number` from the file. `fileBytes` is the file's size as the engine knows
    /// it; a page past it is reported, never touched through the mapping (that would be
    /// SIGBUS).
    @inline(__always)
    func page(_ number: UInt32, fileBytes: Int64) throws -> PageRef {
        let offset = Int64(number) * Int64(pageSize)
        guard offset + Int64(pageSize) <= fileBytes else {
            throw GuildStoreError.corruptPage(page: number, reason: "lies past the end of the database file")
        }
        if Int(number) < mappedPages, let mapping {
            let base = mapping.base + Int(offset)
            if gs_bit_test(verified, UInt64(number)) == 0 {
                guard pageChecksumHolds(base, number: number, size: pageSize, salt: checksumSalt) else {
                    throw GuildStoreError.checksumMismatch(path: file.path, page: number)
                }
                gs_bit_set(verified, UInt64(number))
            }
            return PageRef(base: base, owner: nil)
        }
        let buffer = PageBuffer(size: pageSize)
        let n = try file.read(into: UnsafeMutableRawBufferPointer(start: buffer.pointer, count: pageSize), at: offset)
        guard n == pageSize else {
            throw GuildStoreError.corruptPage(page: number, reason: "short read from the database file")
        }
        guard pageChecksumHolds(buffer.pointer, number: number, size: pageSize, salt: checksumSalt) else {
            throw GuildStoreError.checksumMismatch(path: file.path, page: number)
        }
        return PageRef(base: buffer.pointer, owner: buffer)
    }
}
