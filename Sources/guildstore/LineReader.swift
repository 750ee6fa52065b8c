import Foundation

/// A file's lines (standard input's by default), numbered from 1 and read on a thread of their
/// own so the writer can commit whatever has arrived while the previous commit was syncing.
///
/// At most `capacity` lines wait to be taken: the reading thread then blocks on a condition
/// until `next()` takes them, so a producer faster than the commits is held back (through the
/// pipe) instead of filling memory; the writer holds at most one batch more. `next()` waits for
/// at least one line (or the end) and returns every line waiting, which swaps the buffer out
/// rather than shifting it. A slow producer gets each line acknowledged promptly; a fast one
/// gets batches of up to `capacity`. One task at a time may call `next()`.
final class LineReader: Sendable {
    typealias Line = (number: Int, text: String)

    /// The most lines that wait to be taken.
    let capacity: Int
    private let buffer: Buffer

    /// Starts reading `input` on a new thread.
    init(_ input: FileHandle = .standardInput, capacity: Int) {
        let capacity = max(1, capacity)
        let buffer = Buffer(capacity: capacity)
        self.capacity = capacity
        self.buffer = buffer
        let thread = Thread {
            var number = 0
            do {
                try Self.forEachLine(in: input) { text in
                    number += 1
                    buffer.put((number, text))
                }
                buffer.finish(nil)
            } catch {
                buffer.finish(error)
            }
        }
        thread.start()
    }

    /// The lines read since the last call (at most `capacity`), waiting for one if there are
    /// none; empty at the end of the input. Throws the error that stopped the reading once the
    /// lines read before it are taken.
    func next() async throws -> [Line] {
        while true {
            switch buffer.take() {
            case .lines(let lines): return lines
            case .end(nil): return []
            case .end(let error?): throw error
            case .none:
                await withCheckedContinuation { continuation in
                    if !buffer.wait(continuation) { continuation.resume() }
                }
            }
        }
    }

    /// The most lines that have waited at once: never more than `capacity` (the tests check it).
    var mostBuffered: Int { buffer.mostBuffered }

    /// Calls `body` with each line of `input` until its end, without the `\n` or `\r\n` that
    /// ends it (a last line without one included); bytes that are not UTF-8 are repaired as
    /// `readLine` does. Reads 64 KiB at a time straight from the file descriptor.
    private static func forEachLine(in input: FileHandle, _ body: (String) -> Void) throws {
        let descriptor = input.fileDescriptor
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { chunk.deallocate() }
        var partial: [UInt8] = []  // the start of a line that runs past the chunk
        func emit(_ bytes: UnsafeRawBufferPointer) {
            var bytes = bytes
            if bytes.last == UInt8(ascii: "\r") { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
            body(String(decoding: bytes, as: UTF8.self))
        }
        while true {
            let count = read(descriptor, chunk.baseAddress, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if count == 0 { break }
            var rest = UnsafeRawBufferPointer(rebasing: chunk[..<count])
            while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
                let line = UnsafeRawBufferPointer(rebasing: rest[..<newline])
                if partial.isEmpty {
                    emit(line)
                } else {
                    partial.append(contentsOf: line)
                    partial.withUnsafeBytes(emit)
                    partial.removeAll(keepingCapacity: true)
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[(newline + 1)...])
            }
            partial.append(contentsOf: rest)
        }
        if !partial.isEmpty { body(String(decoding: partial, as: UTF8.self)) }
    }

    /// What `take` found.
    private enum Taken {
        case lines([Line])
        /// The input ended, with the error that stopped the reading, if any.
        case end((any Error)?)
    }

    /// The lines between the reading thread and `next()`, behind one condition.
    private final class Buffer: @unchecked Sendable {
        // Safe to share: every stored property but `capacity` is read and written only with
        // `condition` locked.
        private let condition = NSCondition()
        private let capacity: Int
        private var lines: [Line] = []
        private var end: (any Error)??
        private var waiter: CheckedContinuation<Void, Never>?
        private var most = 0

        init(capacity: Int) {
            self.capacity = capacity
        }

        /// Adds a line, first waiting (blocking the reading thread) while `capacity` wait.
        func put(_ line: Line) {
            condition.lock()
            while lines.count >= capacity { condition.wait() }
            lines.append(line)
            most = max(most, lines.count)
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume()
        }

        /// Marks the end of the input.
        func finish(_ error: (any Error)?) {
            condition.lock()
            end = .some(error)
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume()
        }

        /// Every waiting line, the end once none wait, or nil while the input goes on and no
        /// line waits.
        func take() -> Taken? {
            condition.lock()
            defer { condition.unlock() }
            if !lines.isEmpty {
                var taken: [Line] = []
                swap(&taken, &lines)
                condition.signal()
                return .lines(taken)
            }
            return end.map(Taken.end)
        }

        /// Keeps `continuation` to resume at the next line or the end; false (keeping nothing)
        /// when one is there already.
        func wait(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard lines.isEmpty, end == nil else { return false }
            waiter = continuation
            return true
        }

        var mostBuffered: Int {
            condition.lock()
            defer { condition.unlock() }
            return most
        }
    }
}
