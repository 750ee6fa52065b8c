import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// The names `guildstore backup --dir` gives its files: the database's name, the UTC time the
/// backup began and its kind, `bot-20261205T093000Z-full.gsbackup`, so a directory listing
/// sorts oldest first. A time already taken (by a backup of either kind, or one being
/// written) is never reused: the counter after the highest taken in that second is taken
/// instead (`bot-20261205T093000Z.002-incremental.gsbackup`, which sorts after the first), so
/// a name freed by rotation in the same second is not handed out again either (rotation
/// removes the oldest, never the newest).
enum BackupNaming {
    /// The path of a new backup of the database at `database` in `directory`.
    static func path(in directory: String, database: String, kind: BackupKind, at date: Date,
                     existing: [String]? = nil) -> String {
        let stem = stem(of: database)
        let prefix = "\(stem)-\(timestamp(date))"
        let names = existing ?? ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        // The counters taken in this second: "" is 1, ".002" is 2, ...
        let taken = names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            if rest.hasPrefix("-") { return 1 }
            guard rest.hasPrefix("."), let dash = rest.firstIndex(of: "-") else { return nil }
            return Int(rest[rest.index(after: rest.startIndex)..<dash])
        }
        let ordinal = (taken.max() ?? 0) + 1
        let counter = ordinal == 1 ? "" : String(format: ".%03d", ordinal)
        return "\(directory)/\(prefix)\(counter)-\(kind).gsbackup"
    }

    /// The database file's name without its extension ("bot" for data/bot.gsdb).
    static func stem(of database: String) -> String {
        let name = (database as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        return stem.isEmpty ? "database" : stem
    }

    /// `20261205T093000Z`: the UTC time to the second, basic ISO 8601.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0,
                      c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
