import CGuildStoreSupport

/// Reads backup files (layout in `BackupHeader`), checking everything on the way.
///
/// Invariant (BK-2): nothing read from a backup is trusted before the whole file was read and
/// passed every check: the header's checksum and fields, each page image's own checksum (which
/// covers its page number), page numbers strictly increasing and below the page count, the
/// trailer's checksum, every stored page's hash equal to its manifest entry, and the LZ4
/// frame's content checksum with nothing after the frame. A caller that writes pages as they
/// arrive writes them to a temporary file that is deleted when `scan` throws.
enum BackupFile {
    /// What a whole read found.
    struct Contents {
        var header: BackupHeader
        /// `gs_hash64` of every page at the snapshot, 0 for a free page (`pageHash`).
        var manifest: [UInt64]
        var pagesStored: Int
        var fileBytes: Int64
    }

    /// The hash a manifest records for a live page: never 0, which marks a free page.
    static func pageHash(_ page: UnsafeRawPointer, pageSize: Int) -> UInt64 {
        let hash = gs_hash64(page, pageSize)
        return hash == 0 ? 1 : hash
    }

    /// Reads only the header (the first block of the frame).
    static func readHeader(path: String, fileSystem: any FileSystem) throws -> (header: BackupHeader, fileBytes: Int64) {
        let file = try open(path, fileSystem: fileSystem)
        defer { try? file.close() }
        let reader = try LZ4FrameReader(file: file)
        let bytes = try reader.read(count: BackupHeader.size)
        return (try BackupHeader.decode(bytes, path: path), try file.size())
    }

    /// Reads and checks the whole file (BK-2), handing each stored page to `page` in
    /// increasing page order.
    static func scan(path: String, fileSystem: any FileSystem,
                     page: ((UInt32, UnsafeRawPointer) throws -> Void)? = nil) throws -> Contents {
        let file = try open(path, fileSystem: fileSystem)
        defer { try? file.close() }
        let reader = try LZ4FrameReader(file: file)
        let header = try BackupHeader.decode(try reader.read(count: BackupHeader.size), path: path)
        let fileBytes = try file.size()
        // The manifest alone is 8 bytes a page, and LZ4 shrinks nothing more than 255 times: a
        // page count beyond that is a crafted header, refused before anything is allocated.
        guard Int64(header.pageCount) * 8 <= 256 * fileBytes else {
            throw GuildStoreError.backupDamaged(path: path, reason: "page count \(header.pageCount) cannot fit in a \(fileBytes)-byte file")
        }
        let pageSize = header.pageSize
        let image = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 64)
        defer { image.deallocate() }
        var stored: [(page: UInt32, hash: UInt64)] = []
        var previous: UInt32?
        var number: UInt32 = 0
        while true {
            try withUnsafeMutableBytes(of: &number) { try reader.read(into: $0) }
            number = UInt32(littleEndian: number)
            if number == BackupHeader.endOfPages { break }
            guard number < header.pageCount, previous.map({ number > $0 }) ?? true else {
                throw GuildStoreError.backupDamaged(path: path, reason: "page record \(number) out of order or past the page count \(header.pageCount)")
            }
            try reader.read(into: image)
            guard pageChecksumHolds(image.baseAddress!, number: number, size: pageSize, identity: header.identity) else {
                throw GuildStoreError.backupDamaged(path: path, reason: "page \(number) fails its checksum")
            }
            stored.append((number, pageHash(image.baseAddress!, pageSize: pageSize)))
            try page?(number, UnsafeRawPointer(image.baseAddress!))
            previous = number
        }
        let counts = try reader.read(count: 8)
        let manifestBytes = try reader.read(count: 8 * Int(header.pageCount))
        let trailerCRC = try reader.read(count: 4)
        let (storedCount, pageCount) = counts.withUnsafeBytes { ($0.baseAddress!.u32(0), $0.baseAddress!.u32(4)) }
        var crc = counts.withUnsafeBytes { crc32c($0) }
        crc = manifestBytes.withUnsafeBytes { crc32c($0, seed: crc) }
        guard trailerCRC.withUnsafeBytes({ $0.baseAddress!.u32(0) }) == crc else {
            throw GuildStoreError.backupDamaged(path: path, reason: "trailer checksum mismatch")
        }
        guard Int(storedCount) == stored.count, pageCount == header.pageCount else {
            throw GuildStoreError.backupDamaged(path: path, reason: "trailer counts \(storedCount) pages of \(pageCount), the file holds \(stored.count) of \(header.pageCount)")
        }
        let manifest = manifestBytes.withUnsafeBytes { raw in
            (0..<Int(pageCount)).map { raw.baseAddress!.u64($0 * 8) }
        }
        guard manifest[0] != 0 else {
            throw GuildStoreError.backupDamaged(path: path, reason: "its manifest has no header page")
        }
        for entry in stored where manifest[Int(entry.page)] != entry.hash {
            throw GuildStoreError.backupDamaged(path: path, reason: "page \(entry.page) differs from the manifest")
        }
        // Every stored page matched a live manifest entry, so a full backup holds them all
        // when the counts agree.
        if header.kind == .full, case let live = manifest.count(where: { $0 != 0 }), live != stored.count {
            throw GuildStoreError.backupDamaged(path: path, reason: "full backup stores \(stored.count) of its \(live) live pages")
        }
        try reader.finish()
        return Contents(header: header, manifest: manifest, pagesStored: stored.count, fileBytes: fileBytes)
    }

    private static func open(_ path: String, fileSystem: any FileSystem) throws -> any FileHandleIO {
        guard fileSystem.exists(path) else {
            throw GuildStoreError.backupChainBroken(missing: path, restorableThrough: nil)
        }
        return try fileSystem.open(path, create: false)
    }
}
