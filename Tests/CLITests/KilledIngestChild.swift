import Foundation
import TestSupport

/// One `guildstore ingest` child killed with SIGKILL once it has acknowledged a chosen number of
/// lines: standard input is a pipe a thread writes the lines into; standard output is a pipe
/// read here line by line (`ok ID` per committed record, printed and flushed after each durable
/// commit), so the kill follows the child's own progress, never a timer. After the kill the
/// rest of the output is read to its end: an acknowledgement printed before the signal landed
/// counts as much as one read before it.
struct KilledIngestChild {
    /// What the child acknowledged and how it ended.
    struct Outcome {
        /// The ids of every `ok` line, in order.
        var acknowledged: [String]
        /// The kill landed while the child ran (it had not finished its input).
        var killed: Bool
        var status: Int32
    }

    let directory: TemporaryDirectory

    /// Runs `guildstore ingest --batch batch --db database` on `lines`, and kills it after
    /// `killAfter` acknowledgements (0: as soon as it started).
    func run(database: String, lines: [String], batch: Int, killAfter: Int) throws -> Outcome {
        signal(SIGPIPE, SIG_IGN)  // the killed child's pipe fails the writer's writes instead of killing the tests
        let input = Pipe()
        let output = Pipe()
        let process = Process()
        process.executableURL = CommandLineRunner.executable
        process.arguments = ["ingest", "--batch", String(batch), "--db", database]
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let writer = input.fileHandleForWriting
        let feeder = Thread {
            for line in lines {
                do { try writer.write(contentsOf: Data((line + "\n").utf8)) } catch { break }
            }
            try? writer.close()
        }
        feeder.start()

        let reader = output.fileHandleForReading
        var acknowledged: [String] = []
        var pending = Data()
        var sentKill = false
        func killNow() {
            guard !sentKill else { return }
            kill(process.processIdentifier, SIGKILL)
            sentKill = true
        }
        if killAfter == 0 { killNow() }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            // Blocks until output or end of file (plain read: an error ends the loop, never a trap).
            let count = buffer.withUnsafeMutableBytes { read(reader.fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if line.hasPrefix("ok ") { acknowledged.append(String(line.dropFirst(3))) }
            }
            if acknowledged.count >= killAfter { killNow() }
        }
        process.waitUntilExit()
        try? reader.close()
        return Outcome(acknowledged: acknowledged, killed: process.terminationReason == .uncaughtSignal,
                       status: process.terminationStatus)
    }
}
