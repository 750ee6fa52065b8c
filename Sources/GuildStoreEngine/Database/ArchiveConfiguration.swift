/// Continuous archiving: where and how often the database copies itself for point-in-time
/// restore (`DatabaseConfiguration.archive`).
///
/// The archive is a directory of full backups ("bases") and WAL segments. Every generation of
/// the write-ahead log is copied into it, LZ4-compressed, before the log restarts over it
/// (AR-1), so every commit that left the log is in the archive; `Database.restore(from:to:at:)`
/// rebuilds the database as of any commit a base and the segments after it reach (AR-2). The
/// archive lags the database by the commits still in the live log; a clean close archives them.
///
/// ```swift
/// let db = try Database.open(DatabaseConfiguration(
///     .file("data/bot.gsdb"),
///     archive: ArchiveConfiguration(directory: "/backups/bot-archive")))
/// // later, elsewhere:
/// try Database.restore(from: ["/backups/bot-archive"], to: "restored.gsdb", at: .time(lastNight))
/// ```
public struct ArchiveConfiguration: Sendable, Equatable {
    /// The archive directory (created when missing).
    public var directory: String
    /// A new base is written when the newest is older than this (nil: never by age).
    public var newBaseEvery: Duration?
    /// A new base is written when the segments after the newest base exceed this many bytes
    /// (nil: never by size). Restore replays every segment after its base, so this bounds the
    /// replay.
    public var newBaseAfterBytes: Int64?

    public init(directory: String, newBaseEvery: Duration? = .seconds(86_400), newBaseAfterBytes: Int64? = 1 << 30) {
        self.directory = directory
        self.newBaseEvery = newBaseEvery
        self.newBaseAfterBytes = newBaseAfterBytes
    }
}
