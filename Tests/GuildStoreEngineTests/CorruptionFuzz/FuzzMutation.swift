@testable @_spi(Benchmarks) import GuildStoreEngine

/// One change the corruption fuzzer makes to a copy of a fixture's files.
///
/// Random damage (bit flips, byte runs, truncation) mostly fails a checksum; the crafted kinds
/// get past it the way a lost write, a misdirected write or a hostile file would: whole pages
/// moved (their checksums cover their page numbers, WALR-4), an older image of the same page
/// (which passes: only the number is covered), and field edits and damage re-sealed with the
/// engine's own CRC32C (`sealPage`; WAL frames get their header check and running checksum
/// recomputed too), so only the structural damage is left.
enum FuzzMutation: CustomStringConvertible {
    enum Target: String { case database, wal }
    enum Fill { case zero, ones, random }
    enum HeaderField: String, CaseIterable {
        case pageCount, freeListHead, freePageCount, catalogRoot, schemaCounter
        var offset: Int {
            switch self {
            case .pageCount: 24
            case .freeListHead: 28
            case .freePageCount: 32
            case .catalogRoot: 36
            case .schemaCounter: 40
            }
        }
    }

    case bitFlip(Target, offset: Int, bit: Int)
    case byteRun(Target, offset: Int, length: Int, fill: Fill)
    case truncate(Target, length: Int)
    case swapPages(UInt32, UInt32)
    case copyPage(from: UInt32, to: UInt32)
    /// The page's image from the fixture's earlier copy of the database file.
    case stalePage(UInt32)
    /// A header field of the newest header image (the WAL's when it holds page 0), re-sealed.
    case headerField(HeaderField, value: UInt64)
    /// Bytes of one page changed, then the page re-sealed; in the WAL the frame's checks too.
    case resealedRun(Target, page: Int, offset: Int, length: Int, fill: Fill)

    var description: String {
        switch self {
        case .bitFlip(let t, let offset, let bit): "bitFlip(\(t), offset \(offset), bit \(bit))"
        case .byteRun(let t, let offset, let length, let fill): "byteRun(\(t), offset \(offset), length \(length), \(fill))"
        case .truncate(let t, let length): "truncate(\(t), to \(length))"
        case .swapPages(let a, let b): "swapPages(\(a), \(b))"
        case .copyPage(let from, let to): "copyPage(\(from) over \(to))"
        case .stalePage(let page): "stalePage(\(page))"
        case .headerField(let field, let value): "headerField(\(field.rawValue) = \(value))"
        case .resealedRun(let t, let page, let offset, let length, let fill):
            "resealedRun(\(t) \(t == .wal ? "frame" : "page") \(page), offset \(offset), length \(length), \(fill))"
        }
    }


    /// A random mutation of `fixture`'s files as they are now (`database`, `wal`).
    static func random(_ rng: inout SplitMix64, fixture: FuzzFixture, database: [UInt8], wal: [UInt8]) -> FuzzMutation {
        let pageSize = FuzzFixture.pageSize
        let pages = max(1, database.count / pageSize)
        let frames = WALBytes.frameCount(wal)
        func page() -> UInt32 { UInt32(Int.random(in: 0..<pages, using: &rng)) }
        func target() -> Target { frames > 0 && Bool.random(using: &rng) ? .wal : .database }
        func fill() -> Fill { [.zero, .ones, .random][Int.random(in: 0..<3, using: &rng)] }
        func offset(in target: Target) -> Int {
            let count = target == .wal ? wal.count : database.count
            return count == 0 ? 0 : Int.random(in: 0..<count, using: &rng)
        }
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<12:
            let t = target()
            return .bitFlip(t, offset: offset(in: t), bit: Int.random(in: 0..<8, using: &rng))
        case 12..<22:
            let t = target()
            return .byteRun(t, offset: offset(in: t), length: [1, 2, 4, 8, 64, 512, 4096][Int.random(in: 0..<7, using: &rng)], fill: fill())
        case 22..<30:
            let t = target()
            let count = t == .wal ? wal.count : database.count
            return .truncate(t, length: count == 0 ? 0 : Int.random(in: 0..<count, using: &rng))
        case 30..<36: return .swapPages(page(), page())
        case 36..<42: return .copyPage(from: page(), to: page())
        case 42..<50: return .stalePage(UInt32(Int.random(in: 0..<max(1, fixture.earlier.count / pageSize), using: &rng)))
        case 50..<64:
            let field = HeaderField.allCases[Int.random(in: 0..<HeaderField.allCases.count, using: &rng)]
            let values: [UInt64] = [0, 1, 2, UInt64(pages - 1), UInt64(pages), UInt64(pages + 1), UInt64(pages + 7),
                                    UInt64(UInt32.max), UInt64(UInt32.max - 1), UInt64.max, UInt64(Int.random(in: 0..<(2 * pages), using: &rng))]
            return .headerField(field, value: values[Int.random(in: 0..<values.count, using: &rng)])
        default:
            // Structural damage the checksum cannot see, biased to node headers and slot arrays.
            let t = target()
            let unit = t == .wal ? frames : pages
            let length = [1, 1, 2, 4, 8, 32, 200][Int.random(in: 0..<7, using: &rng)]
            let offset = Bool.random(using: &rng) ? Int.random(in: 4..<64, using: &rng) : Int.random(in: 4..<pageSize, using: &rng)
            return .resealedRun(t, page: Int.random(in: 0..<max(1, unit), using: &rng), offset: offset, length: length, fill: fill())
        }
    }

    /// Applies the mutation to `database` and `wal`.
    func apply(to database: inout [UInt8], wal: inout [UInt8], fixture: FuzzFixture, rng: inout SplitMix64) {
        let pageSize = FuzzFixture.pageSize
        // WALR-9: what the database's header names, so resealed log frames pass as written.
        let databaseSalt = database.count >= pageSize ? database.withUnsafeBytes { namedChecksumSalt(headerPage: $0.baseAddress!) } : 0
        func fillBytes(_ bytes: inout [UInt8], _ range: Range<Int>, _ fill: Fill) {
            for i in range {
                switch fill {
                case .zero: bytes[i] = 0
                case .ones: bytes[i] = 0xFF
                case .random: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                }
            }
        }
        func pageRange(_ page: UInt32) -> Range<Int>? {
            let start = Int(page) * pageSize
            return start + pageSize <= database.count ? start..<(start + pageSize) : nil
        }
        switch self {
        case .bitFlip(let t, let offset, let bit):
            if t == .wal { if offset < wal.count { wal[offset] ^= 1 << bit } } else if offset < database.count { database[offset] ^= 1 << bit }
        case .byteRun(let t, let offset, let length, let fill):
            if t == .wal {
                fillBytes(&wal, min(offset, wal.count)..<min(offset + length, wal.count), fill)
            } else {
                fillBytes(&database, min(offset, database.count)..<min(offset + length, database.count), fill)
            }
        case .truncate(let t, let length):
            if t == .wal { wal.removeSubrange(min(length, wal.count)...) } else { database.removeSubrange(min(length, database.count)...) }
        case .swapPages(let a, let b):
            guard let ra = pageRange(a), let rb = pageRange(b) else { return }
            let pageA = Array(database[ra])
            database.replaceSubrange(ra, with: database[rb])
            database.replaceSubrange(rb, with: pageA)
        case .copyPage(let from, let to):
            guard let rf = pageRange(from), let rt = pageRange(to) else { return }
            database.replaceSubrange(rt, with: Array(database[rf]))
        case .stalePage(let page):
            let start = Int(page) * pageSize
            guard let range = pageRange(page), start + pageSize <= fixture.earlier.count else { return }
            database.replaceSubrange(range, with: fixture.earlier[start..<(start + pageSize)])
        case .headerField(let field, let value):
            let edit = { (page: UnsafeMutableRawPointer) in
                if field == .schemaCounter { page.setU64(field.offset, value) } else { page.setU32(field.offset, UInt32(truncatingIfNeeded: value)) }
            }
            if let frame = WALBytes.newestFrame(of: 0, in: wal) {
                WALBytes.edit(&wal, frame: frame, checksumSalt: databaseSalt, edit)
            } else if database.count >= pageSize {
                database.withUnsafeMutableBytes { raw in
                    edit(raw.baseAddress!)
                    sealHeaderPage(raw.baseAddress!, size: pageSize)
                }
            }
        case .resealedRun(let t, let page, let offset, let length, let fill):
            let end = min(offset + length, pageSize)
            if t == .wal {
                guard page < WALBytes.frameCount(wal) else { return }
                var bytes = [UInt8](repeating: 0, count: end - offset)
                fillBytes(&bytes, 0..<bytes.count, fill)
                WALBytes.edit(&wal, frame: page, checksumSalt: databaseSalt) { image in
                    for (i, byte) in bytes.enumerated() { image.setU8(offset + i, byte) }
                }
            } else {
                guard let range = pageRange(UInt32(page)) else { return }
                fillBytes(&database, (range.lowerBound + offset)..<(range.lowerBound + end), fill)
                database.withUnsafeMutableBytes { raw in
                    sealPage(raw.baseAddress! + range.lowerBound, number: UInt32(page), size: pageSize,
                             salt: namedChecksumSalt(headerPage: raw.baseAddress!))
                }
            }
        }
    }
}

/// Reading and re-sealing the frames of a WAL held in memory (`WriteAheadLog`'s layout).
enum WALBytes {
    static var frameSize: Int { WriteAheadLog.frameHeaderSize + FuzzFixture.pageSize }

    static func frameCount(_ wal: [UInt8]) -> Int {
        max(0, wal.count - WriteAheadLog.headerSize) / frameSize
    }

    /// The last frame that carries page `page`, if any.
    static func newestFrame(of page: UInt32, in wal: [UInt8]) -> Int? {
        wal.withUnsafeBytes { raw in
            (0..<frameCount(wal)).last { raw.baseAddress!.u32(WriteAheadLog.headerSize + $0 * frameSize) == page }
        }
    }

    /// Lets `body` change frame `frame`'s page image, then seals the image as the frame's page
    /// and recomputes the frame's header check and every running checksum from it on, so
    /// recovery accepts the changed frame as written (when the log was sound before).
    static func edit(_ wal: inout [UInt8], frame: Int, checksumSalt: UInt32, _ body: (UnsafeMutableRawPointer) -> Void) {
        let pageSize = FuzzFixture.pageSize, count = frameCount(wal)
        guard frame < count else { return }
        wal.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            func header(_ i: Int) -> UnsafeMutableRawPointer { base + WriteAheadLog.headerSize + i * frameSize }
            func previous(_ i: Int) -> UInt32 { i == 0 ? UnsafeRawPointer(base).u32(28) : UnsafeRawPointer(header(i - 1)).u32(16) }
            func chain(_ i: Int) -> UInt32 {
                WriteAheadLog.chainChecksum(frameHeader: UnsafeRawPointer(header(i)),
                                            pageChecksum: UnsafeRawPointer(header(i) + WriteAheadLog.frameHeaderSize).u32(0),
                                            previous: previous(i))
            }
            // The frames after this one that were on the chain move along with it.
            var following = frame + 1
            while following < count, UnsafeRawPointer(header(following)).u32(16) == chain(following) { following += 1 }
            let h = header(frame)
            body(h + WriteAheadLog.frameHeaderSize)
            // WALR-9: the fixtures' files are all sealed with the salt the log's own header
            // pages name; a frame of page 0 names its own.
            let image = h + WriteAheadLog.frameHeaderSize
            let salt = UnsafeRawPointer(h).u32(0) == 0 ? namedChecksumSalt(headerPage: image) : checksumSalt
            sealPage(image, number: UnsafeRawPointer(h).u32(0), size: pageSize, salt: salt)
            h.setU32(12, WriteAheadLog.frameHeaderCheck(frameHeader: UnsafeRawPointer(h),
                                                        pageChecksum: UnsafeRawPointer(h + WriteAheadLog.frameHeaderSize).u32(0)))
            for i in frame..<following { header(i).setU32(16, chain(i)) }
        }
    }
}
