import CGuildStoreSupport
import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `SequentialFileWriter` and `FileSystem.createForStreaming` (SW-1): the file holds exactly
/// the bytes given, whatever their pieces, whether or not the file system takes writes that
/// skip the page cache.
@Suite("Sequential file writer")
struct SequentialFileWriterTests {
    /// `O_DIRECT` as this system numbers it.
    static var directFlag: Int { Int(gs_uncached_flag()) }

    /// The status flags (`/proc/self/fdinfo`) of this process's open descriptors of `path`.
    static func openFlags(of path: String) throws -> [Int] {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
                  link == target,
                  let info = try? String(contentsOfFile: "/proc/self/fdinfo/" + fd, encoding: .utf8),
                  let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }) else { return nil }
            return Int(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
        }
    }

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test("pieces of every size land in order, and the file ends at the last byte given",
          arguments: [0, 1, 4095, 4096, 4097, SequentialFileWriter.chunkSize, SequentialFileWriter.chunkSize + 1,
                      2 * SequentialFileWriter.chunkSize + 12_345])
    func exactBytes(total: Int) throws {
        let directory = try TemporaryDirectory("gs-seqwrite")
        defer { directory.remove() }
        let path = directory.file("out")
        // A longer file already there (a `.partial` a crash left) is emptied first.
        try Data(Self.bytes(3 * SequentialFileWriter.chunkSize, seed: 1)).write(to: URL(fileURLWithPath: path))
        let input = Self.bytes(total, seed: UInt64(total))
        let file = try PosixFileSystem().createForStreaming(path)
        let writer = SequentialFileWriter(file: file)
        var generator = SplitMix64(seed: 3)
        var offset = 0
        while offset < input.count {
            let n = min(input.count - offset, Int.random(in: 1...900_000, using: &generator))
            try input[offset..<(offset + n)].withUnsafeBytes { try writer.append($0) }
            offset += n
            #expect(writer.count == Int64(offset))
        }
        #expect(try writer.finish() == Int64(total))
        try file.sync()
        try file.close()
        #expect(try #require(FileManager.default.contents(atPath: path)).map { $0 } == input)
    }

    @Test("the file skips the page cache where the file system allows, and a write it refuses for alignment goes through the cache instead")
    func uncachedThenFallback() throws {
        let directory = try TemporaryDirectory("gs-seqwrite")
        defer { directory.remove() }
        let path = directory.file("direct")
        let file = try PosixFileSystem().createForStreaming(path)
        defer { try? file.close() }
        // Asked apart: whether this file system takes O_DIRECT at all (tmpfs before Linux 6.6
        // does not), and whether it then refuses an unaligned write (ext4 and xfs do; btrfs and
        // a newer tmpfs serve it through the cache).
        let probe = Glibc.open(directory.file("probe"), O_RDWR | O_CREAT | Int32(Self.directFlag), 0o644)
        let takesDirect = probe >= 0
        var refusesUnaligned = false
        if probe >= 0 {
            var byte: UInt8 = 1
            refusesUnaligned = pwrite(probe, &byte, 1, 1) < 0 && errno == EINVAL
            Glibc.close(probe)
        }
        let flags = try #require(try Self.openFlags(of: path).first)
        #expect(Self.directFlag != 0)
        #expect((flags & Self.directFlag != 0) == takesDirect)
        try checkWrites(file, path: path)
        guard refusesUnaligned else { return }
        // The unaligned write cleared the flag rather than failing.
        #expect(try Self.openFlags(of: path).allSatisfy { $0 & Self.directFlag == 0 })
    }

    @Test("a disk that fills in the third chunk is diskFull, with the whole chunks before it in the file")
    func diskFull() throws {
        let directory = try TemporaryDirectory("gs-seqwrite")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fileSystem = FaultyFileSystem(plan)
        let path = directory.file("full")
        let file = try fileSystem.createForStreaming(path)
        defer { try? file.close() }
        let chunk = SequentialFileWriter.chunkSize
        plan.setDiskBudget(2 * chunk + 1000)
        let input = Self.bytes(3 * chunk + 500, seed: 9)
        let writer = SequentialFileWriter(file: file)
        var thrown: GuildStoreError?
        do {
            try input.withUnsafeBytes { try writer.append($0) }
            try writer.finish()
        } catch let error as GuildStoreError {
            thrown = error
        }
        guard case .diskFull? = thrown else {
            Issue.record("expected diskFull, got \(String(describing: thrown))")
            return
        }
        let stored = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        #expect(stored.count >= 2 * chunk)
        #expect(Array(stored.prefix(2 * chunk)) == Array(input.prefix(2 * chunk)))
    }

    /// An aligned chunk, then a write at an unaligned offset of an unaligned length; the file
    /// holds both.
    private func checkWrites(_ file: any FileHandleIO, path: String) throws {
        let aligned = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: SequentialFileWriter.alignment)
        defer { aligned.deallocate() }
        let first = Self.bytes(8192, seed: 7)
        aligned.copyBytes(from: first)
        try file.write(UnsafeRawBufferPointer(aligned), at: 0)
        let second = Self.bytes(1001, seed: 8)
        try second.withUnsafeBytes { try file.write($0, at: 8192 + 17) }
        try file.sync()
        let expected = first + [UInt8](repeating: 0, count: 17) + second
        #expect(try #require(FileManager.default.contents(atPath: path)).map { $0 } == expected)
    }
}
