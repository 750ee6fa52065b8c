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
