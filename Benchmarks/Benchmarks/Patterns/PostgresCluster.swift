// A throwaway PostgreSQL 15 cluster for the PostgreSQL contender, and a small libpq face.
//
// The cluster: `initdb` in a temporary directory (UTF8, locale C so text sorts by bytes as
// SQLite's BINARY collation does, trust authentication), a server that listens on a Unix
// socket in that directory only (no TCP), stopped and removed by `stop()` and at process exit.
// PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user
// (Debian's package makes it) through runuser, and the directory is given to that user.

import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct PostgresError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class PostgresCluster: @unchecked Sendable {
    // Used from one thread at a time: a benchmark's setup and teardown, and the exit handler.
    static let binaries = "/usr/lib/postgresql/15/bin"
    /// The superuser initdb makes; the contender connects as it.
    static let superuser = "guildbench"
    static let port = 5432
    static let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why no cluster can be made here, or nil when one can.
    static var unavailableReason: String? {
        for tool in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: binaries + "/" + tool) {
            return "\(binaries)/\(tool) not found (Debian: apt-get install postgresql)"
        }
        if getuid() == 0, getpwnam("postgres") == nil || runuser == nil {
            return "running as root, and there is no `postgres` user (or no runuser) to run the server as"
        }
        return nil
    }

    let directory: String
    var dataDirectory: String { directory + "/data" }
    /// What libpq connects with: the socket directory, the superuser, UTF-8.
    var connectionInfo: String {
        "host=\(directory) port=\(Self.port) user=\(Self.superuser) dbname=postgres client_encoding=UTF8"
    }
    private var running = false

    nonisolated(unsafe) private static var live: PostgresCluster?

    init() throws {
        var template = Array("/tmp/guildstore-bench-postgres-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw PostgresError("mkdtemp failed: errno \(errno)")
        }
        directory = String(cString: made)
        if getuid() == 0 {
            guard let account = getpwnam("postgres"), chown(directory, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                try? FileManager.default.removeItem(atPath: directory)
                throw PostgresError("cannot give \(directory) to the postgres user: errno \(errno)")
            }
        }
        do {
            try run("initdb", ["-D", dataDirectory, "-U", Self.superuser, "-A", "trust", "-E", "UTF8", "--locale=C",
                               "--no-sync", "--no-instructions"])
            let options = "-c listen_addresses='' -c unix_socket_directories='\(directory)' -p \(Self.port)"
            try run("pg_ctl", ["-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start"])
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        running = true
        Self.live = self
        atexit { PostgresCluster.live?.stop() }
    }

    /// Stops the server (fast shutdown) and removes the directory.
    func stop() {
        if running {
            running = false
            try? run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
        if Self.live === self { Self.live = nil }
    }

    /// Marks every descriptor above 2 close-on-exec, so no child (nor the server it starts)
    /// keeps one of ours, package-benchmark's pipes included. Our own use of them is unchanged.
    private static func closeOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Runs one of the server's programs (as `postgres` when we are root) and waits for it,
    /// its output in a file of the directory, which an error quotes.
    ///
    /// Through posix_spawn and waitpid, not Foundation's `Process`: `pg_ctl start` leaves the
    /// server running in the background, and `Process` did not see pg_ctl end while the
    /// server lived. The child gets /dev/null as input, the output file as output and error,
    /// and no other descriptor of ours (`closeOnExec`).
    private func run(_ tool: String, _ arguments: [String]) throws {
        let program = Self.binaries + "/" + tool
        let argv: [String]
        if getuid() == 0, let runuser = Self.runuser {
            argv = [runuser, "-u", "postgres", "--", program] + arguments
        } else {
            argv = [program] + arguments
        }
        let outputPath = directory + "/\(tool).out"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw PostgresError("cannot write \(outputPath): errno \(errno)") }
        defer { close(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        Self.closeOnExec()
        let arguments = argv.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid = pid_t()
        let spawned = arguments.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            return posix_spawn(&pid, argv[0], &actions, nil, base, environ)
        }
        guard spawned == 0 else { throw PostgresError("posix_spawn \(argv[0]): \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PostgresError("waitpid \(tool): errno \(errno)") }
        }
        // Exited normally with status 0 (WIFEXITED and WEXITSTATUS, spelled out).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw PostgresError("\(tool) ended with wait status \(status): \(text.suffix(2_000)) \(log.suffix(2_000))")
        }
    }
}

/// One libpq connection. Not Sendable: used by one thread at a time.
final class PostgresConnection {
    private let handle: OpaquePointer

    init(_ info: String) throws {
        guard let connection = PQconnectdb(info) else { throw PostgresError("PQconnectdb returned nothing") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError("connect (\(info)): \(message)")
        }
        handle = connection
    }

    deinit { PQfinish(handle) }

    private var errorMessage: String { String(cString: PQerrorMessage(handle)) }

    /// Runs `sql` (one or more statements, no parameters), ignoring any rows.
    func execute(_ sql: String) throws {
        guard let result = PQexec(handle, sql) else { throw PostgresError("\(sql): \(errorMessage)") }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw PostgresError("\(sql.prefix(300)): \(String(cString: PQresultErrorMessage(result)))")
        }
    }

    /// Prepares `sql` (parameters `$1 ... $n`, their types left to the server) as `name`.
    func prepare(_ name: String, _ sql: String, parameters: Int) throws {
        guard let result = PQprepare(handle, name, sql, Int32(parameters), nil) else { throw PostgresError("\(sql): \(errorMessage)") }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw PostgresError("prepare \(sql.prefix(300)): \(String(cString: PQresultErrorMessage(result)))")
        }
    }

    /// Runs the prepared statement `name` with `parameters` (text) and returns every row,
    /// each column's text or nil for NULL.
    func run(_ name: String, _ parameters: [String]) throws -> [[String?]] {
        let copies = parameters.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        let values = copies.map { UnsafePointer<CChar>($0) }
        let result = values.withUnsafeBufferPointer { buffer in
            PQexecPrepared(handle, name, Int32(buffer.count), buffer.baseAddress, nil, nil, 0)
        }
        guard let result else { throw PostgresError("\(name): \(errorMessage)") }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            throw PostgresError("\(name): \(String(cString: PQresultErrorMessage(result)))")
        }
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        var table: [[String?]] = []
        table.reserveCapacity(rows)
        for row in 0..<rows {
            var values: [String?] = []
            values.reserveCapacity(columns)
            for column in 0..<columns {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            table.append(values)
        }
        return table
    }

    /// `COPY table (columns) FROM STDIN` with `lines` (COPY text format, each ending in a
    /// newline), sent in chunks.
    func copy(into table: String, columns: [String], lines: [String]) throws {
        let statement = "COPY \"\(table)\" (" + columns.map { "\"\($0)\"" }.joined(separator: ", ") + ") FROM STDIN"
        guard let start = PQexec(handle, statement) else { throw PostgresError("\(statement): \(errorMessage)") }
        let status = PQresultStatus(start)
        PQclear(start)
        guard status == PGRES_COPY_IN else { throw PostgresError("\(statement): \(errorMessage)") }
        var chunk = ""
        func send() throws {
            let sent = chunk.withCString { PQputCopyData(handle, $0, Int32(chunk.utf8.count)) }
            guard sent == 1 else { throw PostgresError("\(statement): PQputCopyData: \(errorMessage)") }
            chunk = ""
        }
        for line in lines {
            chunk += line
            if chunk.utf8.count > 1 << 16 { try send() }
        }
        if !chunk.isEmpty { try send() }
        guard PQputCopyEnd(handle, nil) == 1 else { throw PostgresError("\(statement): PQputCopyEnd: \(errorMessage)") }
        var failure: String?
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, failure == nil { failure = String(cString: PQresultErrorMessage(result)) }
            PQclear(result)
        }
        if let failure { throw PostgresError("\(statement): \(failure)") }
    }
}
