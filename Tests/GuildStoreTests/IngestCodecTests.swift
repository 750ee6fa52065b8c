import Testing
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

/// One valid record of every kind, with every column the codec handles: big ids, NULLs,
/// unicode, JSON columns, booleans.
let sampleRecords: [IngestRecord] = [
    IngestRecord(.guild, ["id": .uint(18_446_744_073_709_551_615), "name": "Mocha ☕ 喫茶 مقهى e\u{301}", "icon": nil,
                          "owner_id": .uint(1_234_567_890_123_456_789), "member_count": .int(3), "is_active": false,
                          "created_at": .timestamp(1_500_000_000), "updated_at": .timestamp(1_700_000_000)]),
    IngestRecord(.user, ["id": .uint(1_234_567_890_123_456_789), "username": "quote\"back\\slash\nnew\ttab\u{1}",
                         "discriminator": "0001", "global_name": nil, "bot": true]),
    IngestRecord(.channel, ["id": .uint(9_007_199_254_740_993), "guild_id": .uint(18_446_744_073_709_551_615), "name": "général 🎮",
                            "type": .int(2), "parent_id": nil, "position": .int(-1)]),
    IngestRecord(.member, ["guild_id": .uint(18_446_744_073_709_551_615), "user_id": .uint(1_234_567_890_123_456_789),
                           "nickname": "שלום", "roles": .json(#"["1234567890123456789","42"]"#), "joined_at": .timestamp(-5),
                           "premium_since": nil]),
    IngestRecord(.message, ["id": .uint(1), "guild_id": .uint(2), "channel_id": .uint(3), "user_id": .uint(4), "message_type": .int(19),
                            "has_attachment": true, "has_embed": false, "character_count": .int(120), "word_count": .int(20),
                            "created_at": .timestamp(1_748_000_000)]),
    IngestRecord(.voice, ["id": .uint(5), "guild_id": .uint(2), "channel_id": nil, "user_id": .uint(4), "event_type": "leave",
                          "session_start": .timestamp(100), "session_end": .timestamp(200), "duration": .int(100_250),
                          "muted": true, "deafened": false, "created_at": .timestamp(200)]),
    IngestRecord(.memberEvent, ["id": .uint(6), "guild_id": .uint(2), "user_id": .uint(4), "event_type": "join",
                                "member_count": nil, "created_at": .timestamp(300)]),
    IngestRecord(.presence, ["id": .uint(7), "guild_id": .uint(2), "user_id": .uint(4), "status": nil, "activity_type": .int(0),
                             "activity_name": "原神", "created_at": .timestamp(400)]),
    IngestRecord(.reminderEvent, ["id": .uint(8), "message_id": .uint(9), "channel_id": .uint(3), "guild_id": .uint(2),
                                  "title": "Raid 🐉", "description": nil, "interval_minutes": .int(1440), "is_paused": false,
                                  "last_reminder": nil, "required_reactions": .json(#"["✅","❤️","🇫🇷"]"#),
                                  "created_at": .timestamp(500)]),
    IngestRecord(.reaction, ["id": .uint(10), "event_id": .uint(8), "user_id": .uint(4), "emoji": "❤️", "reacted_at": .timestamp(600)]),
    IngestRecord(.reminderLog, ["id": .uint(11), "event_id": .uint(8), "scheduled_at": .timestamp(700), "sent_at": nil,
                                "users_notified": .int(0), "status": "failed", "error_message": "Missing Access (50001)"]),
]

@Suite("Ingest codec")
struct IngestCodecTests {
    @Test("every kind round trips: parse(encode(r)) == r, and encoding is stable")
    func roundTrips() throws {
        #expect(Set(sampleRecords.map(\.kind)) == Set(IngestKind.allCases))
        for (i, record) in sampleRecords.enumerated() {
            let line = record.jsonLine
            let parsed = try IngestRecord.parse(line, lineNumber: i + 1)
            #expect(parsed == record, "\(line)")
            #expect(parsed.jsonLine == line)
        }
    }

    @Test("the encoding puts event first, then columns in table order, ids as decimal strings")
    func encodingShape() {
        let line = IngestRecord(.memberEvent, ["created_at": .timestamp(300), "user_id": .uint(18_446_744_073_709_551_615),
                                               "id": .uint(6), "guild_id": .uint(2), "event_type": "join"]).jsonLine
        #expect(line == #"{"event":"member_event","id":"6","guild_id":"2","user_id":"18446744073709551615","event_type":"join","created_at":300}"#)
    }

    @Test("big ids keep every digit, as strings and as JSON numbers")
    func bigIDs() throws {
        for (text, expected) in [("18446744073709551615", UInt64.max), ("1234567890123456789", 1_234_567_890_123_456_789),
                                 ("9007199254740993", 9_007_199_254_740_993), ("0", 0)] {
            for written in ["\"\(text)\"", text] {
                let record = try IngestRecord.parse(#"{"event":"user","id":\#(written)}"#, lineNumber: 1)
                #expect(record.values["id"] == .uint(expected), "\(written)")
            }
        }
    }

    @Test("JSON columns are stored as compact text with sorted keys; bools accept 0 and 1")
    func jsonAndBools() throws {
        let record = try IngestRecord.parse(
            #"{"event":"member","guild_id":1,"user_id":2,"roles":[ "7", {"b": 1, "a": [true, null]} ]}"#, lineNumber: 1)
        #expect(record.values["roles"] == .json(#"["7",{"a":[true,null],"b":1}]"#))
        let user = try IngestRecord.parse(#"{"event":"user","id":1,"bot":1}"#, lineNumber: 1)
        #expect(user.values["bot"] == .bool(true))
        let notBot = try IngestRecord.parse(#"{"event":"user","id":1,"bot":0}"#, lineNumber: 1)
        #expect(notBot.values["bot"] == .bool(false))
    }

    static let malformed: [(line: String, reason: IngestError.Reason)] = [
        ("{\"event\":\"user\",\"id\":", .badJSON("not valid JSON")),
        ("", .badJSON("empty line")),
        ("[1,2]", .badJSON("not a JSON object")),
        ("{\"id\":\"1\"}", .missingEvent),
        ("{\"event\":7,\"id\":\"1\"}", .missingEvent),
        ("{\"event\":\"typing\",\"id\":\"1\"}", .unknownEvent("typing")),
        ("{\"event\":\"user\",\"id\":\"1\",\"avatar_url\":\"x\"}", .unknownColumn(event: .user, column: "avatar_url")),
        ("{\"event\":\"message\",\"id\":\"1\",\"guild_id\":\"2\",\"channel_id\":\"3\",\"user_id\":\"4\"}",
         .missingColumn(event: .message, column: "created_at")),
        ("{\"event\":\"member\",\"guild_id\":\"2\"}", .missingColumn(event: .member, column: "user_id")),
    ]

    static let wrongTypes: [(line: String, column: String)] = [
        (#"{"event":"user","id":-1}"#, "id"),
        (#"{"event":"user","id":1.5}"#, "id"),
        (#"{"event":"user","id":1e3}"#, "id"),
        (#"{"event":"user","id":18446744073709551616}"#, "id"),
        (#"{"event":"user","id":"18446744073709551616"}"#, "id"),
        (#"{"event":"user","id":"12a"}"#, "id"),
        (#"{"event":"user","id":"-5"}"#, "id"),
        (#"{"event":"user","id":"+5"}"#, "id"),
        (#"{"event":"user","id":""}"#, "id"),
        (#"{"event":"user","id":true}"#, "id"),
        (#"{"event":"user","id":null}"#, "id"),
        (#"{"event":"user","id":1,"bot":2}"#, "bot"),
        (#"{"event":"user","id":1,"bot":"true"}"#, "bot"),
        (#"{"event":"user","id":1,"username":5}"#, "username"),
        (#"{"event":"member","guild_id":1,"user_id":2,"roles":"[]"}"#, "roles"),
        (#"{"event":"member","guild_id":1,"user_id":2,"joined_at":"2024-01-01"}"#, "joined_at"),
        (#"{"event":"member","guild_id":1,"user_id":2,"joined_at":1.25}"#, "joined_at"),
        (#"{"event":"channel","id":1,"guild_id":2,"type":9223372036854775808}"#, "type"),
        (#"{"event":"channel","id":1,"guild_id":2,"type":false}"#, "type"),
    ]

    @Test("each malformed line gives its typed error with its line number", arguments: malformed.indices)
    func malformedLines(_ i: Int) {
        let (line, reason) = Self.malformed[i]
        #expect(throws: IngestError(line: i + 10, reason)) { try IngestRecord.parse(line, lineNumber: i + 10) }
    }

    @Test("a value of the wrong type or range names its column", arguments: wrongTypes.indices)
    func wrongType(_ i: Int) {
        let (line, column) = Self.wrongTypes[i]
        do {
            let record = try IngestRecord.parse(line, lineNumber: 40 + i)
            Issue.record("accepted \(line) as \(record)")
        } catch {
            #expect(error.line == 40 + i)
            guard case .wrongType(let named, _, _) = error.reason else {
                Issue.record("\(line): \(error)")
                return
            }
            #expect(named == column)
        }
    }

    @Test("errors read as the operator needs them")
    func errorText() {
        let error = IngestError(line: 7, .wrongType(column: "id", expected: "an id", found: "the number -1"))
        #expect(error.description == "line 7: column \"id\": expected an id, found the number -1")
    }

    @Test("applying records upserts entities and refuses a duplicate event id")
    func apply() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let guild = IngestRecord(.guild, ["id": .uint(1), "name": "a"])
        let user = IngestRecord(.user, ["id": .uint(2), "username": "u"])
        let channel = IngestRecord(.channel, ["id": .uint(3), "guild_id": .uint(1)])
        let message = IngestRecord(.message, ["id": .uint(4), "guild_id": .uint(1), "channel_id": .uint(3), "user_id": .uint(2),
                                              "created_at": .timestamp(10)])
        try await store.database.write { tx in
            for record in [guild, user, channel, message] { try record.apply(to: tx) }
            try IngestRecord(.guild, ["id": .uint(1), "name": "b"]).apply(to: tx)
        }
        let name = try await store.database.read { tx in try tx.select("guilds", where: ["id": .uint(1)]).first?["name"] }
        #expect(name == .text("b"))
        await #expect(throws: GuildStoreError.self) {
            try await store.database.write { tx in try message.apply(to: tx) }
        }
        try await store.close()
    }
}

@Suite("Ingest record keys")
struct IngestRecordKeyTests {
    @Test("keyText is the id, or guild_id:user_id for a member")
    func keyText() {
        #expect(sampleRecords[0].keyText == "18446744073709551615")
        #expect(sampleRecords[3].keyText == "18446744073709551615:1234567890123456789")
        #expect(IngestRecord(.user, [:]).keyText == "?")
    }
}
