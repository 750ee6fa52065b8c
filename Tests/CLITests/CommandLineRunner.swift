import Foundation
import TestSupport

/// Runs the built `guildstore` executable as a process, the way an operator does: arguments,
/// standard input from a string, standard output and error captured (through files, so a
/// large output never blocks on a full pipe).
struct CommandLineRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    let directory: TemporaryDirectory

    /// The executable beside the test bundle (`swift build` puts both in the same products
    /// folder).
    static var executable: URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // Bundle layouts put the test binary a few levels below the products folder.
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("guildstore").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("guildstore")
    }

    func run(_ arguments: [String], stdin input: String = "") throws -> Result {
        let inputPath = directory.file("stdin-\(UUID().uuidString)")
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        return try run(arguments, standardInput: FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))) {}
    }

    /// `run` with `--db` pointing at `database` inside the test's folder and standard input a
    /// pipe that a thread of its own writes `lines` into, one write a line, as a producer
    /// would; the thread blocks whenever the pipe is full.
    func run(_ arguments: [String], database: String, piping lines: [String]) throws -> Result {
        signal(SIGPIPE, SIG_IGN)  // a command that exits early fails the writes instead of killing the tests
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        // Process.run closes our copy of the reading end: once the command exits, writes fail.
        return try run(arguments + ["--db", directory.file(database)], standardInput: pipe) {
            Thread {
                for line in lines {
                    do { try writer.write(contentsOf: Data((line + "\n").utf8)) } catch { break }
                }
                try? writer.close()
            }.start()
        }
    }

    /// Runs the executable with `standardInput` (a FileHandle or a Pipe), then `started`.
    private func run(_ arguments: [String], standardInput: Any, started: () -> Void) throws -> Result {
        let stamp = UUID().uuidString
        let outputPath = directory.file("stdout-\(stamp)")
        let errorPath = directory.file("stderr-\(stamp)")
        try Data().write(to: URL(fileURLWithPath: outputPath))
        try Data().write(to: URL(fileURLWithPath: errorPath))
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.standardInput = standardInput
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        started()
        process.waitUntilExit()
        let stdout = try String(contentsOfFile: outputPath, encoding: .utf8)
        let stderr = try String(contentsOfFile: errorPath, encoding: .utf8)
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// `run` with `--db` pointing at `database` inside the test's folder.
    func run(_ arguments: [String], database: String, stdin input: String = "") throws -> Result {
        try run(arguments + ["--db", directory.file(database)], stdin: input)
    }
}

/// A parsed `--json` answer.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}
