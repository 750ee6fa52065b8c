import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreSQLite

@Suite("SQLiteConnection")
struct SQLiteConnectionTests {
    @Test("every storage class binds and reads back as itself, NULL and the empty blob included")
    func bindsAndReadsEveryStorageClass() throws {
        let db = try SQLiteConnection.inMemory()
        try db.execute("CREATE TABLE t (v); CREATE TABLE u (x INTEGER)")
        let values: [SQLiteValue] = [.null, .integer(.min), .integer(.max), .real(-0.5), .text(""), .text("é'\u{0}x"),
                                     .blob([]), .blob([0, 255, 1])]
        let insert = try db.prepare("INSERT INTO t (v) VALUES (?)")
        for value in values { try insert.run([value]) }
        let rows = try db.query("SELECT v FROM t ORDER BY rowid")
        #expect(rows.map { $0[0] } == values)
        #expect(try db.query("SELECT typeof(v) FROM t WHERE rowid = 7") == [[.text("blob")]])
    }

    @Test("a failing statement throws SQLiteError with its SQL and sqlite3_errmsg")
    func errorsCarryTheSQLAndMessage() throws {
        let db = try SQLiteConnection.inMemory()
        let sql = "SELECT * FROM nowhere"
        let error = try #require(throws: SQLiteError.self) { try db.prepare(sql) }
        #expect(error.sql == sql)
        #expect(error.message.contains("no such table: nowhere"))
        #expect(error.primaryCode == 1)  // SQLITE_ERROR

        try db.execute("CREATE TABLE k (id TEXT PRIMARY KEY NOT NULL)")
        try db.run("INSERT INTO k VALUES (?)", [.text("a")])
        let duplicate = try #require(throws: SQLiteError.self) { try db.run("INSERT INTO k VALUES (?)", [.text("a")]) }
        #expect(duplicate.primaryCode == 19)  // SQLITE_CONSTRAINT
        #expect(duplicate.message.contains("UNIQUE"))
        #expect(throws: SQLiteError.self) { try db.run("INSERT INTO k VALUES (?)", []) }  // one parameter, no value
    }

    @Test("opening a missing file read-only fails naming the path; a read-only connection cannot write")
    func readOnly() throws {
        let directory = try TemporaryDirectory("sqlite-connection")
        defer { directory.remove() }
        let missing = directory.file("missing.db")
        let error = try #require(throws: SQLiteError.self) { try SQLiteConnection(path: missing, mode: .readOnly) }
        #expect(error.path == missing)
        try SQLiteConnection(path: missing, mode: .create).execute("CREATE TABLE t (x)")
        let reader = try SQLiteConnection(path: missing, mode: .readOnly)
        #expect(try reader.query("SELECT COUNT(*) FROM t") == [[.integer(0)]])
        let refused = try #require(throws: SQLiteError.self) { try reader.run("INSERT INTO t VALUES (1)") }
        #expect(refused.primaryCode == 8)  // SQLITE_READONLY
    }

    @Test("a transaction commits when its body returns and rolls back when it throws")
    func transactions() throws {
        struct Stop: Error {}
        let db = try SQLiteConnection.inMemory()
        try db.execute("CREATE TABLE t (x INTEGER)")
        try db.transaction { try db.run("INSERT INTO t VALUES (1)") }
        #expect(throws: Stop.self) {
            try db.transaction(.immediate) {
                try db.run("INSERT INTO t VALUES (2)")
                throw Stop()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.query("SELECT x FROM t") == [[.integer(1)]])
    }
}
