import CGuildStoreSupport
import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreEngine

@Suite("LZ4 frames")
struct LZ4FrameTests {
    @Test("compress and decompress round-trip", arguments: [0, 1, 1000, 300_000])
    func roundTrip(size: Int) throws {
        var generator = SplitMix64(seed: UInt64(size))
        // Half repetitive, half random: compressible but not trivially.
        let input = (0..<size).map { i in i % 2 == 0 ? UInt8(i % 7) : UInt8.random(in: 0...255, using: &generator) }
        let frame = try LZ4Frame.compress(input)
        #expect(frame.prefix(4) == [0x04, 0x22, 0x4D, 0x18])  // the LZ4 frame magic number
        #expect(try LZ4Frame.decompress(frame) == input)
    }

    @Test("a damaged frame is an error")
    func damaged() throws {
        let input = [UInt8](repeating: 42, count: 100_000) + (0..<1000).map { UInt8($0 % 251) }
        var frame = try LZ4Frame.compress(input)
        frame[frame.count / 2] ^= 0xFF
        #expect(throws: GuildStoreError.self) { try LZ4Frame.decompress(frame) }
        #expect(throws: GuildStoreError.self) { try LZ4Frame.decompress(Array(frame.prefix(frame.count / 3))) }
    }
}

@Suite("LZ4 frames written block by block on several threads")
struct LZ4FrameWriterTests {
    @Test("XXH32 gives the published values, however the bytes are split")
    func xxh32() {
        func digest(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 { bytes.withUnsafeBytes { gs_xxh32($0.baseAddress, $0.count, seed) } }
        #expect(digest([]) == 0x02CC_5D05)
        #expect(digest(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(digest(Array("Nobody inspects the spammish repetition".utf8)) == 0xE229_3B2F)
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for seed: UInt32 in [0, 1, 0x9E37_79B1] {
            var state = gs_xxh32_state()
            gs_xxh32_reset(&state, seed)
            var offset = 0
            while offset < bytes.count {
                let n = min(bytes.count - offset, Int.random(in: 0...40, using: &generator))
                bytes[offset..<(offset + n)].withUnsafeBytes { gs_xxh32_update(&state, $0.baseAddress, n) }
                offset += n
            }
            #expect(gs_xxh32_digest(&state) == digest(bytes, seed: seed), "seed \(seed)")
        }
    }

    /// The frame's blocks as the writer laid them out: (stored size, stored uncompressed).
    static func blocks(of frame: [UInt8]) throws -> [(size: Int, raw: Bool)] {
        var blocks: [(size: Int, raw: Bool)] = []
        var offset = 7  // magic number and descriptor
        while true {
            let word = frame.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            if word == 0 { break }
            let size = Int(word & 0x7FFF_FFFF)
            blocks.append((size, word & 0x8000_0000 != 0))
            offset += 4 + size + 4
            try #require(offset + 8 <= frame.count)
        }
        #expect(offset + 8 == frame.count, "end mark and content checksum end the file")
        return blocks
    }

    @Test("several blocks, compressible and not, written in uneven pieces: LZ4F, our reader and the lz4 tool read back the input")
    func multiBlockRoundTrip() throws {
        let directory = try TemporaryDirectory("gs-lz4")
        defer { directory.remove() }
        var generator = SplitMix64(seed: 11)
        let block = LZ4FrameWriter.blockSize
        // Block 1 repetitive, block 2 random (LZ4 cannot shrink it: stored as is), then three
        // more repetitive blocks and a short tail: more blocks than the writer keeps in flight.
        var input = (0..<block).map { UInt8(truncatingIfNeeded: $0 / 64) }
        input += (0..<block).map { _ in UInt8.random(in: 0...255, using: &generator) }
        input += (0..<(3 * block + 12_345)).map { UInt8(truncatingIfNeeded: ($0 * 7) / 1000) }
        let path = directory.file("stream.lz4")
        let file = try PosixFileSystem().open(path, create: true)
        let writer = try LZ4FrameWriter(file: file)
        var offset = 0
        while offset < input.count {
            let n = min(input.count - offset, Int.random(in: 1...700_000, using: &generator))
            try input[offset..<(offset + n)].withUnsafeBytes { try writer.write($0) }
            offset += n
        }
        let written = try writer.finish()
        try file.close()
        let frame = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        #expect(Int64(frame.count) == written)
        #expect(writer.uncompressedBytes == Int64(input.count))
        let layout = try Self.blocks(of: frame)
        #expect(layout.count == 6)
        #expect(layout.map(\.raw) == [false, true, false, false, false, false])
        #expect(try LZ4Frame.decompress(frame) == input)

        let reread = try PosixFileSystem().open(path, create: false)
        defer { try? reread.close() }
        let reader = try LZ4FrameReader(file: reread)
        #expect(try reader.read(count: input.count) == input)
        try reader.finish()
        #expect(try lz4ToolAccepts(path))
    }

    @Test("an empty stream is a frame of no blocks that decompresses to nothing")
    func emptyStream() throws {
        let directory = try TemporaryDirectory("gs-lz4")
        defer { directory.remove() }
        let path = directory.file("empty.lz4")
        let file = try PosixFileSystem().open(path, create: true)
        let writer = try LZ4FrameWriter(file: file)
        #expect(try writer.finish() == 15)  // 7 bytes of header, end mark, content checksum
        try file.close()
        let frame = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        #expect(try LZ4Frame.decompress(frame) == [])
        #expect(try lz4ToolAccepts(path))
    }

    @Test("a write that fails while blocks are in flight throws, and the writer ends without waiting forever or crashing")
    func failedWrite() throws {
        let directory = try TemporaryDirectory("gs-lz4")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fileSystem = FaultyFileSystem(plan)
        let file = try fileSystem.open(directory.file("failing.lz4"), create: true)
        defer { try? file.close() }
        // The frame reaches the file in 1 MiB chunks: random blocks (stored as they are) fill
        // the first chunk when the first block is written, while the next two are compressed.
        plan.failWrite(1)
        var generator = SplitMix64(seed: 5)
        let chunk = (0..<LZ4FrameWriter.blockSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var failed = false
        do {
            let writer = try LZ4FrameWriter(file: file)
            for _ in 0..<(LZ4FrameWriter.inFlight + 2) { try writer.write(chunk) }
            try writer.finish()
        } catch is GuildStoreError {
            failed = true
        }
        #expect(failed)
    }
}
