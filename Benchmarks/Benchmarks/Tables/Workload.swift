// Seed 004's message_events rows, derived from their index so every engine gets the same rows
// and any answer can be checked without keeping a copy of the data set.
//
// Ids are Discord-style snowflakes (milliseconds since 2015-01-01 in the high 42 bits, 22
// random low bits): message ids increase with their row's index, guild, channel and user ids
// are fixed per entity and were made years earlier. 50 guilds with 20 channels each and 5,000
// users; a few guilds and users send most messages (the square / cube of a uniform draw picks
// them). created_at is the message id's second: increasing, 2.5 s apart on average, so 1M
// rows span about 29 days.

import BenchmarkSupport
@_spi(Benchmarks) import GuildStoreEngine

enum Workload {
    /// Rows in each load.
    static let count = 1_000_000
    /// Rows per write transaction of a load.
    static let batchSize = 10_000
    static let guilds = 50
    static let channelsPerGuild = 20
    static let users = 5_000
    static let seed: UInt64 = 0x6D65_7373_6167_6573  // "messages"

    static let discordEpochMilliseconds: UInt64 = 1_420_070_400_000
    /// 2023-11-14 22:13:20 UTC, the first row's time.
    static let startMilliseconds: UInt64 = 1_700_000_000_000
    static let millisecondsPerRow: UInt64 = 2_500

    struct Row {
        var id: UInt64
        var guildID: UInt64
        var channelID: UInt64
        var userID: UInt64
        var messageType: Int64
        var hasAttachment: Bool
        var hasEmbed: Bool
        var characterCount: Int64
        var wordCount: Int64
        var createdAt: Int64
        /// Which of the 50 guilds (for checks).
        var guild: Int
    }

    /// A snowflake for a time in milliseconds since 1970 and 22 low bits.
    @inline(__always)
    static func snowflake(milliseconds: UInt64, low: UInt64) -> UInt64 {
        (milliseconds - discordEpochMilliseconds) << 22 | (low & 0x3F_FFFF)
    }

    /// Entity ids: made between 2016 and 2020, a hash of the entity's kind and number.
    static func entityID(kind: UInt64, _ n: Int) -> UInt64 {
        let h = SplitMix64.hash(seed ^ kind << 32 ^ UInt64(n))
        let made = 1_451_606_400_000 + h % 126_230_400_000  // 2016-01-01 + up to 4 years
        return snowflake(milliseconds: made, low: h >> 40)
    }

    static let guildIDs: [UInt64] = (0..<guilds).map { entityID(kind: 1, $0) }
    static let channelIDs: [UInt64] = (0..<(guilds * channelsPerGuild)).map { entityID(kind: 2, $0) }
    static let userIDs: [UInt64] = (0..<users).map { entityID(kind: 3, $0) }

    /// A skewed pick of 0..<n: the `power`th power of a uniform draw from `hash`.
    @inline(__always)
    static func skewed(_ hash: UInt64, _ n: Int, power: Int) -> Int {
        var u = Double(hash >> 11) / Double(1 << 53)
        let x = u
        for _ in 1..<power { u *= x }
        return min(n - 1, Int(u * Double(n)))
    }

    /// The i-th row. Ids and created_at increase strictly / weakly with i.
    @inline(__always)
    static func row(_ i: Int) -> Row {
        let h0 = SplitMix64.hash(seed &+ UInt64(i))
        let h1 = SplitMix64.hash(h0)
        let h2 = SplitMix64.hash(h1)
        let milliseconds = startMilliseconds + UInt64(i) * millisecondsPerRow + h0 % millisecondsPerRow
        let guild = skewed(h1, guilds, power: 2)
        let channel = guild * channelsPerGuild + skewed(h2, channelsPerGuild, power: 2)
        let user = skewed(h2 >> 7 | h1 << 57, users, power: 3)
        let characters = Int64(h0 >> 20 & 0x3FF) % 400 + Int64(h2 >> 40 & 0x3F)
        return Row(
            id: snowflake(milliseconds: milliseconds, low: h2),
            guildID: guildIDs[guild],
            channelID: channelIDs[channel],
            userID: userIDs[user],
            messageType: h1 & 0xF == 0 ? 19 : 0,  // a reply now and then
            hasAttachment: h1 >> 8 & 0xF == 0,
            hasEmbed: h1 >> 12 & 0x1F == 0,
            characterCount: characters,
            wordCount: characters / 5,
            createdAt: Int64(milliseconds / 1000),
            guild: guild)
    }

    /// The first and last created_at of a load.
    static let firstCreatedAt = Int64(startMilliseconds / 1000)
    static let lastCreatedAt = row(count - 1).createdAt

    /// What every engine must answer for a whole load: rows, sum of character_count, and rows
    /// per guild.
    struct Totals: Equatable {
        var rows = 0
        var characters: Int64 = 0
        var perGuild = [Int](repeating: 0, count: Workload.guilds)
    }

    static let totals: Totals = {
        var totals = Totals()
        for i in 0..<count {
            let row = row(i)
            totals.rows += 1
            totals.characters += row.characterCount
            totals.perGuild[row.guild] += 1
        }
        return totals
    }()

    /// One range query: a guild and a created_at range [from, below).
    struct RangeQuery {
        var guild: Int
        var from: Int64
        var below: Int64
    }

    /// `n` seeded queries: a uniformly chosen guild, one day from a random start in the data.
    static func rangeQueries(_ n: Int) -> [RangeQuery] {
        var random = SplitMix64(seed: seed ^ 0x5CA7)
        let day: Int64 = 86_400
        let span = UInt64(lastCreatedAt - firstCreatedAt - day)
        return (0..<n).map { _ in
            let guild = Int(random.next() % UInt64(guilds))
            let from = firstCreatedAt + Int64(random.next() % span)
            return RangeQuery(guild: guild, from: from, below: from + day)
        }
    }

    /// The answer to `query` (count, sum of character_count), from the rows themselves.
    /// Rows are in created_at order, so only the query's time window is looked at.
    static func expected(_ query: RangeQuery) -> (count: Int64, sum: Int64) {
        // Row i's created_at lies in [start + i * 2.5 s, start + (i + 1) * 2.5 s).
        let fromMs = UInt64(query.from - firstCreatedAt) * 1000
        let first = max(0, Int(fromMs / millisecondsPerRow) - 1)
        var count: Int64 = 0, sum: Int64 = 0
        var i = first
        while i < Workload.count {
            let row = row(i)
            if row.createdAt >= query.below { break }
            if row.createdAt >= query.from, row.guild == query.guild {
                count += 1
                sum += row.characterCount
            }
            i += 1
        }
        return (count, sum)
    }
}
