import GuildSchema
import StorageEngine

/// GuildStore as a bot uses it: each run is one `Database.read` (or `write`) calling the
/// public typed methods, so the time includes taking the snapshot, as a bot's call does.
public final class GuildStoreContender: BenchContender {
    public let key = "guildstore"
    public let name = "GuildStore"
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func prepare(_ workload: Workload) throws -> PreparedWorkload {
        let database = self.database
        switch workload.task {
        case .pattern(let pattern, let inputs):
            return PreparedWorkload {
                try await database.read { tx in try pattern.answer(on: tx, inputs) }
            }
        case .pointLookup(let lookup):
            let keys = lookup.messageIDs.map { [Value.uint($0)] }
            return PreparedWorkload {
                let events = try await database.read { tx in try keys.map { try tx.get(MessageEvent.self, key: $0) } }
                return DeferredAnswer {
                    events.compactMap { event in
                        event.map {
                            CanonicalRow([.id($0.id), .id($0.guildID), .id($0.channelID), .id($0.userID), .integer($0.characterCount),
                                          .integer($0.hasAttachment), .integer($0.createdAt)])
                        }
                    }
                }
            }
        case .retention(let cutoff):
            return PreparedWorkload {
                let deleted = try await database.write { tx in try tx.deleteEvents(olderThan: cutoff) }
                return DeferredAnswer {
                    [("message_events", deleted.messageEvents), ("voice_events", deleted.voiceEvents),
                     ("member_events", deleted.memberEvents), ("presence_events", deleted.presenceEvents)]
                        .map { CanonicalRow([.text($0.0), .integer(Int64($0.1))]) }
                }
            }
        case .durableCommits(let plan):
            var run = 0
            return PreparedWorkload {
                let ids = plan.ids(run: run)
                run += 1
                for id in ids {
                    _ = try await database.write { tx in
                        try tx.insert(MessageEvent(id: id, guildID: plan.guild, channelID: plan.channel, userID: plan.user,
                                                   characterCount: 42, createdAt: plan.createdAt))
                    }
                }
                let found = try await database.read { tx in
                    try ids.filter { try tx.get(MessageEvent.self, key: [.uint($0)]) != nil }.count
                }
                return .canonical([CanonicalRow([.integer(Int64(found))])])
            }
        }
    }
}
