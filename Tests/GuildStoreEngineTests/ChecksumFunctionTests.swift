import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `crc32c` against the standard check value and a bit-at-a-time reference, over lengths that
/// take every path (short tails, the three-lane loop for long buffers, several lane rounds).
@Suite("CRC32C")
struct ChecksumFunctionTests {
    /// Bit-at-a-time CRC32C (reflected polynomial 0x82F63B78), continuing from `seed`.
    static func reference(_ bytes: ArraySlice<UInt8>, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    @Test("the check value of \"123456789\" is 0xE3069283")
    func checkValue() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { crc32c($0) } == 0xE306_9283)
        #expect(Self.reference(bytes[...]) == 0xE306_9283)
    }

    @Test("equal to the reference for lengths 0-13,000 at odd offsets, and when continued from a seed")
    func matchesReference() {
        var random = SplitMix64(seed: 0xC3C)
        let data = (0..<13_100).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let lengths = Array(0..<70) + [4_079, 4_080, 4_081, 4_092, 4_096, 8_159, 8_160, 12_240, 13_000]
            + (0..<40).map { _ in Int(random.next() % 13_000) }
        data.withUnsafeBytes { all in
            for length in lengths {
                let offset = Int(random.next() % 97)
                let slice = data[offset..<(offset + length)]
                let expected = Self.reference(slice)
                #expect(crc32c(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])) == expected, "length \(length)")
                let cut = length / 3
                let first = crc32c(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + cut)]))
                #expect(crc32c(UnsafeRawBufferPointer(rebasing: all[(offset + cut)..<(offset + length)]), seed: first) == expected,
                        "length \(length) continued after \(cut)")
            }
        }
    }
}
