import StorageEngine
import Foundation
let dir = "/tmp/dbgv"; try? FileManager.default.removeItem(atPath: dir); try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
let path = dir + "/db.gsdb"
let engine = try StorageEngine.open(path: path)
try engine.write { tx in let t = try tx.openTree("t"); for i in 0..<1000 { try tx.put(withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) }, [1,2,3], in: t) } }
print(try engine.vacuum())
system("ls -l /proc/\(getpid())/fd; cat /proc/locks")
try engine.close()
system("ls -l /proc/\(getpid())/fd")
do { _ = try StorageEngine.open(path: path) } catch { print("reopen:", error) }
