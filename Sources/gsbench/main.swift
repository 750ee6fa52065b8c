import StorageEngine
import Foundation
let dir = "/tmp/gsbench"
let n = 1_000_000
func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) } }
let keys = (0..<n).map(key)
let mode = CommandLine.arguments.dropFirst().first ?? "load"
if mode == "load" {
  try? FileManager.default.removeItem(atPath: dir); try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  let engine = try StorageEngine.open(path: dir + "/a.gsdb", configuration: EngineConfiguration(synchronous: .off))
  let t0 = ContinuousClock.now
  try engine.write { tx in let t = try tx.createTree("t"); for k in keys { try tx.put(k, k, in: t) } }
  print("sorted insert", Double(n) / (ContinuousClock.now - t0).seconds, "/s")
  _ = try engine.checkpoint(.truncate)
  try engine.close()
} else {
  let engine = try StorageEngine.open(path: dir + "/a.gsdb")
  var rng = SplitMix(state: 1)
  let probe = (0..<3_000_000).map { _ in Int(rng.next() % UInt64(n)) }
  var hits = 0
  try engine.read { tx in
    let t = try tx.tree("t")!
    for i in probe.prefix(1000) { keys[i].withUnsafeBytes { kb in if (try? tx.withValue(kb, in: t) { $0.count }) != nil { hits += 1 } } }
    let t0 = ContinuousClock.now
    for i in probe { keys[i].withUnsafeBytes { kb in if (try? tx.withValue(kb, in: t) { $0.count }) != nil { hits += 1 } } }
    print("lookup", (ContinuousClock.now - t0).seconds / Double(probe.count) * 1e9, "ns", hits)
  }
}
struct SplitMix { var state: UInt64; mutating func next() -> UInt64 { state &+= 0x9E3779B97F4A7C15; var z = state; z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) &* 0x94D049BB133111EB; return z ^ (z >> 31) } }
extension Duration { var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 } }
