import Foundation
import Testing
import TestSupport

/// A database another process holds open: the refusal names that process, so an operator sees
/// which bot or command to stop (issue 15's "naming the holder's pid").
@Suite("guildstore: a database open in another process")
struct LockedDatabaseTests {
    @Test("stats on a database an ingest process holds: exit 1, the message names the ingest's pid and command")
    func refusalNamesTheHolder() throws {
        signal(SIGPIPE, SIG_IGN)
        let directory = try TemporaryDirectory("gs-cli-locked")
        defer { directory.remove() }
        let database = directory.file("bot.gsdb")
        // The holder: an ingest that has committed one record and waits for more input.
        let input = Pipe(), output = Pipe()
        let holder = Process()
        holder.executableURL = CommandLineRunner.executable
        holder.arguments = ["ingest", "--db", database]
        holder.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        holder.standardInput = input
        holder.standardOutput = output
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        try input.fileHandleForWriting.write(contentsOf: Data("{\"event\":\"user\",\"id\":\"80351110224678912\",\"username\":\"ann\"}\n".utf8))
        // Its acknowledgement comes after the commit, so the database is open and locked by then.
        var acknowledged = Data()
        var byte: UInt8 = 0
        while read(output.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") { acknowledged.append(byte) }
        #expect(String(decoding: acknowledged, as: UTF8.self) == "ok 80351110224678912")

        let refused = try CommandLineRunner(directory: directory).run(["stats", "--db", database])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("database is locked: \(database) is open in pid \(holder.processIdentifier) (guildstore)"),
                "\(refused.stderr)")

        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        let stats = try CommandLineRunner(directory: directory).run(["stats", "--db", database])
        #expect(stats.status == 0, "\(stats.stderr)")
    }
}
