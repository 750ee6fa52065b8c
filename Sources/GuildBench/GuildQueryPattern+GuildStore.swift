import GuildStore
import GuildStoreEngine

/// Each pattern through GuildStore's public API: the typed method on a transaction. The
/// typed result is kept as it is; the returned answer turns it into canonical rows (in
/// `columns`' order) only when asked, so the conversion is not timed.
extension GuildQueryPattern {
    package func answer(on tx: Transaction, _ inputs: PatternInputs) throws -> DeferredAnswer {
        func guild() throws -> UInt64 { try inputs.required(inputs.guild, "guild", for: self) }
        switch self {
        case .activeGuilds:
            let result = try tx.activeGuilds(limit: inputs.limit)
            return DeferredAnswer {
                result.map { CanonicalRow([.id($0.id), .text($0.name), .integer($0.memberCount), .integer($0.createdAt)]) }
            }
        case .guildMemberCount:
            let result = try tx.guildMemberCount(guild: try guild())
            return DeferredAnswer {
                result.map { [CanonicalRow([.id($0.id), .text($0.name), .integer($0.memberCount)])] } ?? []
            }
        case .guildStats:
            let result = try tx.guildStats(now: inputs.now)
            return DeferredAnswer {
                result.map {
                    CanonicalRow([.id($0.id), .text($0.name), .integer($0.memberCount), .integer($0.lastJoin),
                                  .real($0.averageMemberAgeSeconds)])
                }
            }
        case .userStats:
            let user = try inputs.required(inputs.user, "user", for: self)
            let stats = try tx.userStats(guild: try guild(), user: user, since: inputs.since, until: inputs.until)
            return DeferredAnswer {
                [CanonicalRow([.integer(stats.messageCount), .integer(stats.totalCharacters), .integer(stats.attachments)])]
            }
        case .leaderboard:
            let result = try tx.leaderboard(guild: try guild(), since: inputs.since, until: inputs.until, limit: inputs.limit)
            return DeferredAnswer { result.map { CanonicalRow([.id($0.userID), .integer($0.messageCount), .integer($0.rank)]) } }
        case .voiceActivity:
            let result = try tx.voiceActivity(guild: try guild(), since: inputs.since, until: inputs.until, limit: inputs.limit)
            return DeferredAnswer {
                result.map { CanonicalRow([.id($0.userID), .integer($0.totalVoiceTime), .integer($0.sessionCount)]) }
            }
        case .hourlyActivity:
            let result = try tx.hourlyActivity(guild: try guild(), since: inputs.since, until: inputs.until)
            return DeferredAnswer { result.map { CanonicalRow([.integer($0.hour), .integer($0.messages), .integer($0.uniqueUsers)]) } }
        case .memberGrowth:
            let result = try tx.memberGrowth(guild: try guild(), since: inputs.since, until: inputs.until, bucket: inputs.bucket)
            return DeferredAnswer { result.map { CanonicalRow([.integer($0.bucket), .integer($0.joins), .integer($0.leaves)]) } }
        case .presenceDistribution:
            let result = try tx.presenceDistribution(guild: try guild(), since: inputs.since, until: inputs.until)
            return DeferredAnswer { result.map { CanonicalRow([.text($0.status), .integer($0.events)]) } }
        case .activeUsers:
            let result = try tx.activeUsers(guild: try guild())
            return DeferredAnswer { result.map { CanonicalRow([.id($0.userID), .text($0.status)]) } }
        case .dueReminders:
            let result = try tx.dueReminders(now: inputs.now)
            return DeferredAnswer {
                result.map {
                    CanonicalRow([.id($0.id), .id($0.guildID), .id($0.channelID), .id($0.messageID), .text($0.title), .integer($0.dueAt)])
                }
            }
        case .reminderTargets:
            let result = try tx.reminderTargets(event: try inputs.required(inputs.event, "event", for: self))
            return DeferredAnswer { result.map { CanonicalRow([.id($0)]) } }
        }
    }
}
