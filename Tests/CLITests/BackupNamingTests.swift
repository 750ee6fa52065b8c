import Foundation
import Testing
import GuildStore
@testable import guildstore

/// `guildstore backup --dir`'s file names: the database's name, the UTC time and the kind;
/// a taken name (a backup or one being written) is never reused, and the names sort in the
/// order they were taken.
@Suite("backup file names")
struct BackupNamingTests {
    @Test("bot-20261205T093000Z-full.gsbackup, then .002, .003 in the same second; names sort as taken")
    func names() {
        let date = Date(timeIntervalSince1970: 1_796_463_000)  // 2026-12-05T09:30:00Z
        #expect(BackupNaming.timestamp(date) == "20261205T093000Z")
        #expect(BackupNaming.stem(of: "data/bot.gsdb") == "bot")
        #expect(BackupNaming.stem(of: "/srv/guild.store.gsdb") == "guild.store")
        var taken: Set<String> = []
        var names: [String] = []
        for kind in [BackupKind.full, .incremental, .incremental, .full] {
            let path = BackupNaming.path(in: "/b", database: "data/bot.gsdb", kind: kind, at: date, existing: Self.names(taken))
            taken.insert(path)
            names.append(path)
        }
        #expect(names == ["/b/bot-20261205T093000Z-full.gsbackup", "/b/bot-20261205T093000Z.002-incremental.gsbackup",
                          "/b/bot-20261205T093000Z.003-incremental.gsbackup", "/b/bot-20261205T093000Z.004-full.gsbackup"])
        #expect(names.sorted() == names)
        // A backup still being written holds its name too.
        let partial = BackupNaming.path(in: "/b", database: "bot.gsdb", kind: .full, at: date,
                                        existing: ["bot-20261205T093000Z-full.gsbackup.partial"])
        #expect(partial == "/b/bot-20261205T093000Z.002-full.gsbackup")
        // Rotation removed the older names of this second: the next one still comes after the
        // newest, never a name used before.
        let afterRotation = BackupNaming.path(in: "/b", database: "bot.gsdb", kind: .full, at: date,
                                              existing: Self.names([names[3]]))
        #expect(afterRotation == "/b/bot-20261205T093000Z.005-full.gsbackup")
        let later = BackupNaming.path(in: "/b", database: "bot.gsdb", kind: .full, at: date.addingTimeInterval(1), existing: Self.names(taken))
        #expect(later == "/b/bot-20261205T093001Z-full.gsbackup" && names.allSatisfy { $0 < later })
    }

    static func names(_ paths: Set<String>) -> [String] {
        paths.map { ($0 as NSString).lastPathComponent }
    }
}
