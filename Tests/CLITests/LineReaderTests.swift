import Foundation
import Testing
@testable import guildstore

/// `ingest`'s line reader: lines split as `readLine` splits them, at most `capacity` waiting
/// however fast the producer writes, every line delivered once and in order, one at a time to
/// a producer that waits for each to be taken, and a read error thrown rather than taken for the end.
@Suite("ingest's line reader")
struct LineReaderTests {
    /// Every line of `reader` to its end, checking each batch against the bound.
    static func drain(_ reader: LineReader) async throws -> [LineReader.Line] {
        var all: [LineReader.Line] = []
        while true {
            let lines = try await reader.next()
            if lines.isEmpty { return all }
            #expect(lines.count <= reader.capacity)
            all += lines
        }
    }

    /// A thread that writes `chunks` into a new pipe, each as one write, and closes it;
    /// `afterEach` runs after each write. The pipe's reading end.
    static func producer(_ chunks: [Data], afterEach: @escaping @Sendable (Int) -> Void = { _ in }) -> FileHandle {
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        let thread = Thread {
            for (i, chunk) in chunks.enumerated() {
                try? writer.write(contentsOf: chunk)
                afterEach(i)
            }
            try? writer.close()
        }
        thread.start()
        return pipe.fileHandleForReading
    }

    @Test("more lines than the bound through a pipe: never more than the bound wait; all arrive once, in order")
    func bounded() async throws {
        let count = 50_000, capacity = 16
        // Many lines a write, so the reader always has more at hand than it may keep.
        let chunks = stride(from: 1, through: count, by: 1_000).map { first in
            Data((first..<min(first + 1_000, count + 1)).map { "line \($0)\n" }.joined().utf8)
        }
        let reader = LineReader(Self.producer(chunks), capacity: capacity)
        let lines = try await Self.drain(reader)
        #expect(lines.map(\.number) == Array(1...count))
        #expect(lines.map(\.text) == (1...count).map { "line \($0)" })
        #expect(reader.mostBuffered <= capacity)
        #expect(reader.mostBuffered >= 1)
    }

    @Test("a producer that waits for each line to be taken gets it taken alone")
    func slowProducer() async throws {
        let taken = DispatchSemaphore(value: 0)
        let chunks = (1...20).map { Data("{\"n\":\($0)}\n".utf8) }
        // The producer writes the next line only once the previous one was taken, so a reader
        // that waited for a fuller batch would wait forever. To fail rather than hang, the
        // producer stops waiting after five minutes in all and writes the rest at once: such a
        // reader then takes several lines in one batch. A sound reader is far inside that bound,
        // however loaded the machine: the consumer runs on a thread of its own, so each line
        // waits only for the kernel to schedule two threads, never for the cooperative pool.
        let deadline = DispatchTime.now() + .seconds(300)
        let reader = LineReader(Self.producer(chunks) { _ in _ = taken.wait(timeout: deadline) }, capacity: 1_000)
        let executor = ThreadTaskExecutor()
        defer { executor.stop() }
        let batches = try await withTaskExecutorPreference(executor) {
            var batches: [[String]] = []
            while true {
                let lines = try await reader.next()
                if lines.isEmpty { return batches }
                batches.append(lines.map(\.text))
                taken.signal()
            }
        }
        #expect(batches == (1...20).map { ["{\"n\":\($0)}"] })
    }

    @Test("lines end at \\n or \\r\\n, a last line may have neither, blank lines count, a line may span reads, bad UTF-8 is repaired")
    func splitting() async throws {
        let long = String(repeating: "x", count: 200_000)  // longer than one 64 KiB read
        var input = Data("a\r\n\nb\n\(long)\n".utf8)
        input.append(contentsOf: [0xFF] + Array("c\r\nlast".utf8))
        // Split into writes at awkward places: inside the \r\n and inside the long line.
        let cuts = [2, 3, 50_000, 150_000, input.count]
        var chunks: [Data] = []
        var start = 0
        for cut in cuts {
            chunks.append(input.subdata(in: start..<cut))
            start = cut
        }
        let lines = try await Self.drain(LineReader(Self.producer(chunks), capacity: 2))
        #expect(lines.map(\.number) == [1, 2, 3, 4, 5, 6])
        #expect(lines.map(\.text) == ["a", "", "b", long, "\u{FFFD}c", "last"])
    }

    @Test("a read error is thrown by next(), not taken for the end of the input")
    func readError() async throws {
        let directory = try #require(FileHandle(forReadingAtPath: "/"))  // read(2) on a directory: EISDIR
        let reader = LineReader(directory, capacity: 4)
        await #expect(throws: POSIXError(.EISDIR)) { try await reader.next() }
    }
}
