/// The four gateway event streams merged into one in time order, as a bot would receive them.
///
/// Invariant (FX-9): records come out in non-decreasing time; at equal times in the fixed
/// order message, voice, member event, presence. Each table's own records keep their
/// stream's order, so its ids still increase (FX-2).
struct FixtureEvents {
    private var messages: MessageStream
    private var voice: VoiceStream
    private var members: MemberEventStream
    private var presence: PresenceStream
    private var heads: [TimedRecord?]

    init(world: FixtureWorld) {
        messages = MessageStream(world: world)
        voice = VoiceStream(world: world)
        members = MemberEventStream(world: world)
        presence = PresenceStream(world: world)
        heads = []
        heads = [messages.next(), voice.next(), members.next(), presence.next()]
    }

    mutating func next() -> IngestRecord? {
        var best: Int?
        for (i, head) in heads.enumerated() {
            guard let head else { continue }
            if let b = best, let current = heads[b], current.time <= head.time { continue }
            best = i
        }
        guard let best, let record = heads[best]?.record else { return nil }
        switch best {
        case 0: heads[0] = messages.next()
        case 1: heads[1] = voice.next()
        case 2: heads[2] = members.next()
        default: heads[3] = presence.next()
        }
        return record
    }
}
