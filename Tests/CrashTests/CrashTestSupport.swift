import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import TestSupport

/// A tree's contents as the tests model it: key (a big-endian UInt64) to value.
typealias TreeModel = [UInt64: [UInt8]]

/// Every tree's contents by name; a tree that does not exist is absent.
typealias DatabaseModel = [String: TreeModel]

func decodeKey(_ raw: UnsafeRawBufferPointer) -> UInt64 {
    precondition(raw.count == 8, "test keys are 8 bytes")
    var value: UInt64 = 0
    for byte in raw { value = value << 8 | UInt64(byte) }
    return value
}

/// Reads every entry of every tree on one snapshot.
func readDatabase(_ engine: StorageEngine) throws -> DatabaseModel {
    try engine.read { tx in try readDatabase(tx) }
}

/// Reads every entry of every tree on `tx`'s snapshot.
func readDatabase(_ tx: ReadTransaction) throws -> DatabaseModel {
    var result = DatabaseModel()
    for tree in try tx.trees() {
        var entries = TreeModel()
        try tx.scan(tree) { key, value in
            entries[decodeKey(key)] = Array(value)
            return true
        }
        result[tree.name] = entries
    }
    return result
}

/// A short description of how two models differ, for failure messages.
func difference(_ actual: DatabaseModel, _ expected: DatabaseModel) -> String {
    if actual == expected { return "equal" }
    var parts: [String] = []
    for name in Set(actual.keys).union(expected.keys).sorted() {
        guard let a = actual[name] else { parts.append("tree \(name) missing"); continue }
        guard let e = expected[name] else { parts.append("unexpected tree \(name)"); continue }
        if a == e { continue }
        let missing = Set(e.keys).subtracting(a.keys).sorted()
        let extra = Set(a.keys).subtracting(e.keys).sorted()
        let changed = Set(a.keys).intersection(e.keys).filter { a[$0] != e[$0] }.sorted()
        parts.append("tree \(name): \(a.count) entries vs \(e.count) expected; missing \(missing.prefix(5)), extra \(extra.prefix(5)), changed \(changed.prefix(5))")
    }
    return parts.joined(separator: "; ")
}

/// A value of `length` bytes that identifies where it came from.
func makeValue(tag: UInt64, length: Int) -> [UInt8] {
    var value = [UInt8](repeating: 0, count: length)
    var x = tag &* 0x9E37_79B9_7F4A_7C15 | 1
    for i in 0..<length {
        if i % 8 == 0 { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
        value[i] = UInt8(truncatingIfNeeded: x >> (UInt64(i % 8) * 8))
    }
    return value
}

/// Replaces the file at `path` with a new one holding `bytes` (plain POSIX calls, no fsync:
/// the cut suites rewrite files thousands of times). The old file is unlinked rather than
/// truncated: ext4 flushes a file truncated to zero and rewritten when it is closed
/// (auto_da_alloc), which made the suites wait on the disk.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw GuildStoreError.io(operation: "open test file", path: path, errno: errno) }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
        guard n > 0 else { throw GuildStoreError.io(operation: "write test file", path: path, errno: errno) }
        done += n
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? -1
}

/// XORs the byte at `offset` of the file with `mask`.
func flipByte(in path: String, at offset: Int, mask: UInt8 = 0x5A) throws {
    var bytes = try readFile(path)
    precondition(offset < bytes.count, "offset \(offset) past the end of \(path) (\(bytes.count) bytes)")
    bytes[offset] ^= mask
    try writeFile(path, bytes)
}

/// Applies `body`'s puts and deletes both to the engine (in one write transaction) and to a
/// copy of `model`; returns the model after the transaction. The model changes only if the
/// commit returned.
@discardableResult
func commit(_ engine: StorageEngine, _ model: inout DatabaseModel,
            _ body: (_ tx: WriteTransaction, _ pending: inout DatabaseModel) throws -> Void) throws -> DatabaseModel {
    var pending = model
    try engine.write { tx in try body(tx, &pending) }
    model = pending
    return model
}

extension WriteTransaction {
    /// Puts into tree `name` (opening or creating it) and into `model`.
    func put(_ key: UInt64, _ value: [UInt8], tree name: String, model: inout DatabaseModel) throws {
        let tree = try openTree(name)
        if model[name] == nil { model[name] = [:] }
        try put(bigEndianKey(key), value, in: tree)
        model[name]![key] = value
    }

    func delete(_ key: UInt64, tree name: String, model: inout DatabaseModel) throws {
        let tree = try openTree(name)
        if model[name] == nil { model[name] = [:] }
        try delete(bigEndianKey(key), in: tree)
        model[name]![key] = nil
    }
}
