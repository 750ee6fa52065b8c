import Testing
@testable import GuildStoreEngine

/// The leaf cell header (format version 4): one byte for an empty value's cell, key length
/// and field back exactly as written, and a malformed header refused, never trusted.
@Suite("Leaf cell header")
struct LeafCellHeaderTests {
    @Test("round trip over key lengths and fields; an empty inline value takes no field byte")
    func roundTrip() {
        var buffer = [UInt8](repeating: 0, count: 16)
        for keyLength in [0, 1, 63, 64, 127, 128, 1_004, 70_000] {
            for field in [0, 1, 2, 254, 255 << 1, 4_000 << 1 | 1, 1 << 30] {
                buffer.withUnsafeMutableBytes { raw in
                    let p = raw.baseAddress!
                    let written = LeafCellHeader.write(keyLength: keyLength, field: field, to: p)
                    #expect(written == LeafCellHeader.size(keyLength: keyLength, field: field))
                    var offset = 0
                    let header = LeafCellHeader.read(UnsafeRawPointer(p), &offset, limit: raw.count)
                    #expect(header?.keyLength == keyLength && header?.field == field, "key \(keyLength), field \(field)")
                    #expect(offset == written)
                }
            }
        }
        #expect(LeafCellHeader.size(keyLength: 23, field: 0) == 1)
        #expect(LeafCellHeader.size(keyLength: 23, field: 8 << 1) == 2)
    }

    @Test("a header that announces a field of zero, or runs past its limit, is malformed")
    func malformed() {
        let zeroField: [UInt8] = [23 << 1 | 1, 0]
        let cut: [UInt8] = [23 << 1 | 1]
        let endless: [UInt8] = [0xFF, 0xFF]
        for bytes in [zeroField, cut, endless] {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                #expect(LeafCellHeader.read(raw.baseAddress!, &offset, limit: raw.count) == nil, "\(bytes)")
            }
        }
    }
}
