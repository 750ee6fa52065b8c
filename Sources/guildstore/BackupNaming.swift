import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// The names `guildstore backup --dir` gives its files: the database's name, the UTC time the
/// backup began and its kind, `bot-20261205T093000Z-full.gsbackup`, so a directory listing
/// sorts oldest first. A time already taken (by a backup of either kind, or one being
/// written) is never reused: the next free `.002`, `.003`, ... after the time is taken instead
/// (`bot-20261205T093000Z.002-incremental.gsbackup`, which sorts after the first).
enum BackupNaming {
    /// The path of a new backup of the database at `database` in `directory`.
    static func path(in directory: String, database: String, kind: BackupKind, at date: Date,
                     exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String {
        let stem = stem(of: database)
        let stamp = timestamp(date)
        var ordinal = 1
        while true {
            let counter = ordinal == 1 ? "" : String(format: ".%03d", ordinal)
            func name(_ kind: BackupKind) -> String { "\(directory)/\(stem)-\(stamp)\(counter)-\(kind).gsbackup" }
            // A time and counter taken by a backup of either kind is taken: the names then sort as taken.
            let taken = [BackupKind.full, .incremental].contains { exists(name($0)) || exists(name($0) + ".partial") }
            if !taken { return name(kind) }
            ordinal += 1
        }
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
