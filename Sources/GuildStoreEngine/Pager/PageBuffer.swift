import CGuildStoreSupport

/// CRC32C of a byte range (hardware instruction when the CPU has it).
@inline(__always)
func crc32c(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    gs_crc32c(seed, bytes.baseAddress, bytes.count)
}

/// One page-sized heap allocation, 16-byte aligned.
///
/// Not page-aligned: nothing needs it (no O_DIRECT, fields are read unaligned), and glibc
/// serves a page-aligned request by carving an aligned chunk out of a larger one, leaving
/// fragments that small allocations then pin. Seeding the default profile held 389 MB of
/// anonymous memory with page-aligned buffers and 219 MB without, for the same 138 MB of
/// live heap (heaptrack).
///
/// A buffer is mutable only while it belongs to a write transaction's dirty set. Once the
/// transaction commits it becomes a WAL frame image and is never written again, so readers on
/// any thread may hold it.
final class PageBuffer: @unchecked Sendable {
    // Safe to share: see the type comment; mutation happens only before publication, and
    // publication goes through the engine's lock (a happens-before edge).
    let pointer: UnsafeMutableRawPointer
    let size: Int
    /// While the buffer is in a write transaction's dirty set: that transaction's
    /// `pageWrites` when it last asked for the page writable. Spills take the pages touched
    /// longest ago first (TS-1).
    var lastTouched = 0

    init(size: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        self.size = size
    }

    init(copying source: UnsafeRawPointer, size: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        pointer.copyMemory(from: source, byteCount: size)
        self.size = size
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: size) }
}

/// A page lent to a reader: a pointer that stays valid while `owner` (a WAL frame image or a
/// page read by pread) is retained, or for the life of the mapping when `owner` is nil.
///
/// Invariant (PG-5): `base` is dereferenced only while `owner` is retained. Swift may release
/// a value after its last use, not at the end of its scope, so holding the `PageRef` in a
/// local is not enough once only `base` is used: read through `withBase` (or
/// `withExtendedLifetime(ref.owner)`). AddressSanitizer found `decode(readHeaderPage(...).base)`
/// reading a freed page-0 buffer on open.
struct PageRef {
    let base: UnsafeRawPointer
    let owner: PageBuffer?

    /// Runs `body` on the page's bytes with `owner` kept alive until it returns (PG-5).
    @inline(__always)
    func withBase<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(base) }
    }
}

// MARK: - Little-endian field access. Every on-disk integer in GuildStore is little-endian.

extension UnsafeRawPointer {
    @inline(__always) func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
    @inline(__always) func u16(_ offset: Int) -> Int {
        Int(UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) func u64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension UnsafeMutableRawPointer {
    @inline(__always) func setU8(_ offset: Int, _ value: UInt8) { storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }
    @inline(__always) func setU16(_ offset: Int, _ value: Int) {
        storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) func setU32(_ offset: Int, _ value: UInt32) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inline(__always) func setU64(_ offset: Int, _ value: UInt64) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}
