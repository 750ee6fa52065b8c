import GuildStore

/// What one run of a query pattern is asked: the same values go to GuildStore's typed method
/// and, bound as parameters, to the pattern's SQL. A pattern reads only the inputs it takes
/// (`GuildQueryPattern.takesGuild`, ...); a missing one it needs is `BenchError.missingInput`.
@_spi(Benchmarks) public struct PatternInputs: Sendable, Hashable, Codable {
    package var guild: UInt64?
    package var user: UInt64?
    /// Start of the time range, inclusive (seconds since 1970).
    package var since: Int64
    /// End of the time range, exclusive; nil for no upper bound.
    package var until: Int64?
    package var limit: Int
    /// Bucket width of `member-growth`, in seconds (3,600 or 86,400).
    package var bucketSeconds: Int64
    /// The time `guild-stats` and `due-reminders` take as the present.
    package var now: Int64
    /// The reminder event of `reminder-targets`.
    package var event: UInt64?

    package init(guild: UInt64? = nil, user: UInt64? = nil, since: Int64 = 0, until: Int64? = nil, limit: Int = 10,
                bucket: TimeBucket = .hour, now: Int64, event: UInt64? = nil) {
        self.guild = guild
        self.user = user
        self.since = since
        self.until = until
        self.limit = limit
        self.bucketSeconds = bucket.rawValue
        self.now = now
        self.event = event
    }

    /// `member-growth`'s bucket.
    package var bucket: TimeBucket { TimeBucket(rawValue: bucketSeconds) ?? .hour }

    /// `value`, or `BenchError.missingInput` naming the pattern and the input.
    func required<T>(_ value: T?, _ name: String, for pattern: GuildQueryPattern) throws -> T {
        guard let value else { throw BenchError.missingInput(pattern: pattern.rawValue, input: name) }
        return value
    }
}
