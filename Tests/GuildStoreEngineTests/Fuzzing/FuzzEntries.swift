// Compiled twice: into the GuildStoreEngineTests target (`FuzzCorpusTests` replays
// Tests/FuzzCorpus/ through it on every run), and by `scripts/fuzz` into one module with the
// engine's sources and libFuzzer (GUILDSTORE_FUZZ_BUILD).
#if !GUILDSTORE_FUZZ_BUILD
@testable @_spi(Benchmarks) import GuildStoreEngine
#endif

/// The libFuzzer targets' bodies. Each takes the fuzzer's bytes, runs the engine on them and
/// returns what it found wrong: errors that are not a `GuildStoreError` (a trap ends the
/// process, which libFuzzer reports with the input). Checksums are sealed by the entry, so the
/// fuzzer's mutations reach the structure behind them.
enum FuzzEntries {
    static let pageSize = 4096
    static let databasePath = "/fuzz/db.gsdb"
    static let targets = ["page-tree", "wal-recover", "backup-read"]

    /// Runs target `name` on `data`.
    static func run(_ name: String, _ data: [UInt8]) -> [String] {
        switch name {
        case "page-tree": pageTree(data)
        case "wal-recover": walRecover(data)
        case "backup-read": backupRead(data)
        default: ["no fuzz target \(name)"]
        }
    }

    // MARK: page-tree

    /// The bytes are pages 1, 2, ... of a database (4 KiB each, the last one zero-padded, at
    /// most 16); page 0 is a header naming page 1 the catalog root. Every page is sealed as
    /// its number. Each page is decoded as a node (every cell, key, child and lookup), then the
    /// database is opened in memory and every tree walked with cursors in both directions,
    /// counted, checked, written to, checkpointed and vacuumed.
    static func pageTree(_ data: [UInt8]) -> [String] {
        let chunks = min(16, (data.count + pageSize - 1) / pageSize)
        guard chunks > 0 else { return [] }
        var file = [UInt8](repeating: 0, count: (chunks + 1) * pageSize)
        file.replaceSubrange(pageSize..<(pageSize + min(data.count, chunks * pageSize)), with: data.prefix(chunks * pageSize))
        file.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            let header = DatabaseHeader(version: DatabaseHeader.formatVersion, pageSize: pageSize, pageCount: UInt32(chunks + 1),
                                        freeListHead: 0, freePageCount: 0, catalogRoot: 1, schemaCounter: 1, createdAt: 0,
                                        storedIdentity: DatabaseIdentity(high: 1, low: 1), fileNonce: 1, baseCommit: .none)
            header.write(to: base)
            for page in 0...chunks { sealPage(base + page * pageSize, number: UInt32(page), size: pageSize, salt: header.checksumSalt) }
        }
        var findings: [String] = []
        file.withUnsafeBytes { raw in
            for page in 1...chunks { decodeNode(raw.baseAddress! + page * pageSize, number: UInt32(page), findings: &findings) }
        }
        exerciseEngine(MemoryFileSystem([databasePath: file]), probe: Array(data.prefix(16)), findings: &findings)
        return findings
    }

    /// Every accessor of `Node` on one page: each must return or throw a `GuildStoreError`.
    static func decodeNode(_ page: UnsafeRawPointer, number: UInt32, findings: inout [String]) {
        let probe = [UInt8](UnsafeRawBufferPointer(start: page + 24, count: 8))
        record("node \(number)", &findings) {
            let node = try Node(PageRef(base: page, owner: nil), number: number, pageSize: pageSize)
            for i in 0..<node.count {
                _ = try? node.withKey(i) { $0.count }
                _ = try? node.cellSize(i)
                _ = try? node.cellBytes(i)
                if node.isLeaf {
                    _ = try? node.leafCell(i)
                    _ = try? node.scanCell(i)
                } else {
                    _ = try? node.child(i)
                }
            }
            if !node.isLeaf { _ = try? node.child(node.count) }
            try probe.withUnsafeBytes { key in
                _ = try node.lowerBound(key)
                if node.isLeaf { _ = try node.spans(key) } else { _ = try node.childIndex(for: key) }
            }
        }
    }

    /// Opens the database in `fileSystem` and runs every reader and writer over it.
    static func exerciseEngine(_ fileSystem: MemoryFileSystem, probe: [UInt8], findings: inout [String]) {
        let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 0,
                                                mapReservation: 0, createIfMissing: false)
        guard let engine = record("open", &findings, { try StorageEngine.open(path: databasePath, configuration: configuration, fileSystem: fileSystem) }) else { return }
        defer { try? engine.close() }
        _ = record("check", &findings) { try engine.check() }
        _ = record("checkTables", &findings) { try engine.read { try $0.checkTables() } }
        let trees = record("trees", &findings) { try engine.read { try $0.trees() } } ?? []
        for tree in trees.prefix(8) {
            _ = record("walk \(tree.name)", &findings) {
                try engine.read { tx in
                    var cursor = try tx.cursor(tree)
                    var steps = 0
                    if try cursor.first() { repeat { steps += 1; _ = try cursor.withEntry { $0.count + $1.count } } while try cursor.next() }
                    if try cursor.last() { repeat { steps += 1 } while try cursor.previous() }
                    if try cursor.seek(probe) { _ = try cursor.next() }
                    _ = try tx.countEntries(tree, KeyRange())
                    _ = try tx.get(probe, in: tree)
                    return steps
                }
            }
        }
        _ = record("write", &findings) {
            try engine.write { tx in
                for tree in trees.prefix(4) {
                    guard let current = try tx.tree(tree.name) else { continue }
                    try tx.put(probe, [UInt8](repeating: 0x5A, count: 40), in: current)
                    _ = try tx.delete(probe + [0], in: current)
                }
                _ = try tx.createTree("fuzz")
            }
        }
        _ = record("checkpoint", &findings) { try engine.checkpoint(.truncate, timeout: .zero) }
        _ = record("vacuum", &findings) { try engine.vacuum() }
        _ = record("check after", &findings) { try engine.check() }
    }

    // MARK: wal-recover

    /// Byte 0 says which checksums the entry seals (bit 0 the log header's, bit 1 each frame's
    /// page image as its page number, bit 2 each frame's header check, bit 3 the running
    /// checksums); the rest is the WAL file, which with bit 0 also names the database's file
    /// nonce (WAL-7). `WriteAheadLog.recover` reads it; then a small sound database opens
    /// beside it and is read, checked and written.
    static func walRecover(_ data: [UInt8]) -> [String] {
        guard let flags = data.first else { return [] }
        var wal = Array(data.dropFirst())
        var findings: [String] = []
        let fileSystem = MemoryFileSystem()
        guard record("create", &findings, { try StorageEngine.createDatabase(at: databasePath, pageSize: pageSize, fileSystem: fileSystem) }) != nil
        else { return findings }
        // WAL-7: with bit 0, the log names the new database's file nonce, so the engine reads it.
        var salt: UInt32 = 0
        if let file = try? fileSystem.open(databasePath, create: false) {
            var page0 = [UInt8](repeating: 0, count: pageSize)
            if (try? page0.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }) == pageSize {
                salt = page0.withUnsafeBytes { namedChecksumSalt(headerPage: $0.baseAddress!) }  // WALR-9
            }
            if flags & 1 != 0, wal.count >= WriteAheadLog.headerSize {
                wal.replaceSubrange(48..<56, with: page0[72..<80])
            }
        }
        seal(&wal, flags: flags, salt: salt)
        let log = MemoryFileSystem([databasePath + "-wal": wal])
        if let handle = try? log.open(databasePath + "-wal", create: false) {
            _ = record("recover", &findings) { try WriteAheadLog.recover(file: handle, expectedPageSize: pageSize, fileNonce: nil, checksumSalt: nil) }
        }
        guard let handle = try? fileSystem.open(databasePath + "-wal", create: true),
              (try? wal.withUnsafeBytes { try handle.write($0, at: 0) }) != nil else { return findings }
        exerciseEngine(fileSystem, probe: Array(wal.prefix(8)), findings: &findings)
        return findings
    }

    /// Seals the checksums `flags` names in a WAL's bytes, frame by frame.
    static func seal(_ wal: inout [UInt8], flags: UInt8, salt: UInt32) {
        let headerSize = WriteAheadLog.headerSize, frameSize = WriteAheadLog.frameHeaderSize + pageSize
        guard wal.count >= headerSize else { return }
        wal.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            if flags & 1 != 0 { base.setU32(56, crc32c(UnsafeRawBufferPointer(start: base, count: 56))) }
            var previous = UnsafeRawPointer(base).u32(56)
            var offset = headerSize
            while offset + frameSize <= raw.count {
                let frame = base + offset, image = frame + WriteAheadLog.frameHeaderSize
                if flags & 2 != 0 { sealPage(image, number: UnsafeRawPointer(frame).u32(0), size: pageSize, salt: salt) }
                let pageChecksum = UnsafeRawPointer(image).u32(0)
                if flags & 4 != 0 { frame.setU32(12, WriteAheadLog.frameHeaderCheck(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum)) }
                if flags & 8 != 0 { frame.setU32(16, WriteAheadLog.chainChecksum(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum, previous: previous)) }
                previous = UnsafeRawPointer(frame).u32(16)
                offset += frameSize
            }
        }
    }

    // MARK: backup-read

    /// Byte 0 is flags, the rest a backup's or an archived segment's decompressed content
    /// (bit 7: the rest is the file itself, LZ4 frame and all). The entry compresses it into
    /// a sound LZ4 frame, re-sealing first what the flags name (bit 0 the header's checksum,
    /// bit 1 each page record's page checksum, bit 2 the trailer's checksum), so mutations
    /// reach the structure; then reads it whole (`BackupFile.scan` or `WALSegment.scan`) and
    /// restores from it into memory.
    static func backupRead(_ data: [UInt8]) -> [String] {
        guard let flags = data.first else { return [] }
        var content = Array(data.dropFirst())
        var findings: [String] = []
        let file: [UInt8]
        if flags & 0x80 != 0 {
            file = content
        } else {
            sealBackup(&content, flags: flags)
            guard let compressed = record("compress", &findings, { try LZ4Frame.compress(content) }) else { return findings }
            file = compressed
        }
        let isSegment = content.starts(with: WALSegment.magic)
        let source = "/fuzz/piece" + (isSegment ? WALSegment.fileExtension : BackupCatalog.backupExtension)
        let fileSystem = MemoryFileSystem([source: file])
        if isSegment {
            _ = record("segment scan", &findings) { try WALSegment.scan(path: source, fileSystem: fileSystem) { _ in } }
        } else {
            _ = record("backup scan", &findings) { try BackupFile.scan(path: source, fileSystem: fileSystem) { _, _ in } }
        }
        _ = record("catalog", &findings) { try BackupCatalog(sources: [source], fileSystem: fileSystem).ranges }
        _ = record("restore", &findings) {
            try BackupRestore.restore(from: [source], to: databasePath, at: .latest, force: true, fileSystem: fileSystem, progress: nil)
        }
        return findings
    }

    /// Seals a backup's header checksum, page checksums and trailer checksum as `flags` say.
    static func sealBackup(_ content: inout [UInt8], flags: UInt8) {
        guard content.count >= BackupHeader.size else { return }
        content.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            if flags & 1 != 0 { base.setU32(124, crc32c(UnsafeRawBufferPointer(start: base, count: 124))) }
            let pageSize = Int(UnsafeRawPointer(base).u32(16))
            guard PageFormat.isValidPageSize(pageSize) else { return }
            var offset = BackupHeader.size
            while offset + 4 <= raw.count {
                let number = UnsafeRawPointer(base).u32(offset)
                if number == BackupHeader.endOfPages {
                    let trailer = offset + 4
                    guard flags & 4 != 0, trailer + 8 <= raw.count else { return }
                    let pageCount = Int(UnsafeRawPointer(base).u32(trailer + 4))
                    let end = trailer + 8 + 8 * pageCount
                    if end + 4 <= raw.count {
                        base.setU32(end, crc32c(UnsafeRawBufferPointer(start: base + trailer, count: end - trailer)))
                    }
                    return
                }
                guard offset + 4 + pageSize <= raw.count else { return }
                if flags & 2 != 0 { sealPage(base + offset + 4, number: number, size: pageSize, salt: 0) }  // formats 5-6: accepted
                offset += 4 + pageSize
            }
        }
    }

    // MARK: Findings

    /// Runs `body`; an error that is not a `GuildStoreError` is a finding.
    @discardableResult
    static func record<T>(_ step: String, _ findings: inout [String], _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch is GuildStoreError {
            return nil
        } catch {
            findings.append("\(step): \(type(of: error)): \(error)")
            return nil
        }
    }
}
