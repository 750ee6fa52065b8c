import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreEngine

@Suite("Page table")
struct PageTableTests {
    @Test("random sets, replacements and removals agree with a Dictionary, through growth and wrap-around")
    func matchesDictionary() {
        var random = SplitMix64(seed: 0xD127)
        var table = PageTable<PageBuffer>()
        var model: [UInt32: PageBuffer] = [:]
        for step in 0..<60_000 {
            // Page numbers from a small range, so sets, replacements and removals collide; now
            // and then one from anywhere, including 0 and the largest page numbers.
            let number = step % 7 == 0 ? UInt32(truncatingIfNeeded: random.next()) % (UInt32.max - 1)
                                       : UInt32(random.next() % 3_000)
            switch random.next() % 3 {
            case 0, 1:
                let buffer = PageBuffer(size: 64)
                table[number] = buffer
                model[number] = buffer
            default:
                table.removeValue(forKey: number)
                model.removeValue(forKey: number)
            }
            if step % 1_000 == 0 {
                #expect(table.count == model.count)
                for (n, buffer) in model { #expect(table[n] === buffer, "page \(n) at step \(step)") }
            }
            #expect(table[number] === model[number])
        }
        let entries = table.entries
        #expect(entries.count == model.count)
        #expect(Set(entries.map(\.page)) == Set(model.keys))
        for entry in entries { #expect(entry.element === model[entry.page]) }
        table.removeAll()
        #expect(table.isEmpty && table[entries.first?.page ?? 0] == nil)
    }
}
