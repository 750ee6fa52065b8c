import Foundation
import Testing
@testable @_spi(Benchmarks) import GuildStoreEngine

@Suite("Engine smoke")
struct SmokeTests {
    @Test("put, get, reopen")
    func putGetReopen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gs-smoke-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.gsdb"
        do {
            let engine = try StorageEngine.open(path: path)
            try engine.write { tx in
                let t = try tx.createTree("t")
                for i in 0..<20000 {
                    var k = UInt64(i * 7919 % 20000).bigEndian
                    let key = withUnsafeBytes(of: &k) { Array($0) }
                    try tx.put(key, Array("value-\(i)".utf8), in: t)
                }
            }
            try engine.read { tx in
                let t = try #require(try tx.tree("t"))
                var count = 0
                var last: [UInt8]? = nil
                try tx.scan(t) { k, _ in
                    let key = Array(k)
                    if let last { #expect(last.lexicographicallyPrecedes(key)) }
                    last = key
                    count += 1
                    return true
                }
                #expect(count == 20000)
            }
            try engine.write { tx in
                let t = try tx.openTree("t")
                for i in 0..<15000 {
                    var k = UInt64(i).bigEndian
                    let key = withUnsafeBytes(of: &k) { Array($0) }
                    #expect(try tx.delete(key, in: t))
                }
            }
            try engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        try engine.read { tx in
            let t = try #require(try tx.tree("t"))
            #expect(try tx.entries(t).count == 5000)
            var k = UInt64(17000).bigEndian
            let key = withUnsafeBytes(of: &k) { Array($0) }
            #expect(try tx.get(key, in: t) != nil)
        }
        let r = try engine.checkpoint(.truncate)
        #expect(r.walRestarted)
        try engine.read { tx in
            let t = try #require(try tx.tree("t"))
            #expect(try tx.entries(t).count == 5000)
        }
        try engine.close()
    }
}
