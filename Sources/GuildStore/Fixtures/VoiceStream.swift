@_spi(Benchmarks) import GuildStoreEngine

/// `voice_events` in time order: sessions of a join, sometimes a move to another voice channel,
/// and a leave carrying `session_start`, `session_end` and the duration in milliseconds.
///
/// Sessions start at evenly spread instants; their later events wait in a min-heap keyed by
/// (time, sequence) until the clock reaches them, so the stream holds only the sessions open
/// at one moment, never the whole table.
///
/// Invariants:
/// - (FX-16) A session's events are planned in full when it starts: `planned` counts them and
///   never exceeds the profile's count; the last session may be only a join (a user still in
///   voice at `now`) so the total is exact (FX-8).
/// - (FX-17) A leave is never after `now`; `duration` = (`session_end` - `session_start`) * 1000
///   plus 0...999 ms.
/// - (FX-18) Leaves have `channel_id` NULL one time in ten (a disconnect, as seed 004 allows).
struct VoiceStream: TimedRecordStream {
    private struct Pending: Comparable {
        let time: Int64
        let sequence: Int
        let record: [String: Value]
        static func < (a: Pending, b: Pending) -> Bool { (a.time, a.sequence) < (b.time, b.sequence) }
        static func == (a: Pending, b: Pending) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }

    private let world: FixtureWorld
    private var rng: SplitMix64
    private var ids = EventIDs(worker: 2)
    private let count: Int
    private var planned = 0
    private var sequence = 0
    private var heap = MinHeap<Pending>()

    init(world: FixtureWorld) {
        self.world = world
        rng = SplitMix64.derived(world.seed, stream: FixtureWorld.Stream.voice.rawValue)
        count = world.profile.voiceEvents
    }

    mutating func next() -> TimedRecord? {
        let start = planned < count ? windowTime(planned, of: count, world.profile) : nil
        if let first = heap.min, start.map({ first.time <= $0 }) ?? true, let pending = heap.popMin() {
            return emit(pending.record, at: pending.time)
        }
        guard let start else { return nil }
        return startSession(at: start)
    }

    private mutating func emit(_ values: [String: Value], at t: Int64) -> TimedRecord {
        var values = values
        values["id"] = .uint(ids.next(at: t, &rng))
        return TimedRecord(time: t, record: IngestRecord(.voice, values))
    }

    private mutating func startSession(at start: Int64) -> TimedRecord {
        let profile = world.profile
        let g = world.guild(at: start, &rng)
        let guild = world.guilds[g]
        let user = Value.uint(world.users[world.member(of: g, &rng)].id)
        let channel = guild.voiceChannels[rng.skewed(below: guild.voiceChannels.count)]
        let muted = Value.bool(rng.percent(15)), deafened = Value.bool(rng.percent(5))
        let remaining = count - planned
        let move = remaining >= 3 && rng.percent(25)
        planned += remaining == 1 ? 1 : (move ? 3 : 2)  // FX-16
        let u = rng.unit()
        let end = min(profile.now, start + 60 + Int64(u * u * 14_340))  // FX-17: 1 minute to 4 hours
        func event(_ type: String, channel: UInt64?, sessionEnd: Int64?, duration: Int64, at t: Int64) -> [String: Value] {
            ["guild_id": .uint(guild.id), "channel_id": channel.map { .uint($0) } ?? .null, "user_id": user,
             "event_type": .text(type), "session_start": .timestamp(start), "session_end": sessionEnd.map { .timestamp($0) } ?? .null,
             "duration": .int(duration), "muted": muted, "deafened": deafened, "created_at": .timestamp(t)]
        }
        var last = channel
        if move {
            let others = guild.voiceChannels.filter { $0 != channel }
            last = others.isEmpty ? channel : rng.pick(others)
            let at = start + Int64(rng.int(below: Int(max(1, end - start))))
            push(event("move", channel: last, sessionEnd: nil, duration: 0, at: at), at: at)
        }
        if remaining > 1 {
            let milliseconds = (end - start) * 1000 + Int64(rng.int(below: 1000))
            push(event("leave", channel: rng.percent(10) ? nil : last, sessionEnd: end, duration: milliseconds, at: end), at: end)  // FX-18
        }
        return emit(event("join", channel: channel, sessionEnd: nil, duration: 0, at: start), at: start)
    }

    private mutating func push(_ values: [String: Value], at t: Int64) {
        heap.insert(Pending(time: t, sequence: sequence, record: values))
        sequence += 1
    }
}

/// A binary min-heap (the smallest element at index 0).
struct MinHeap<Element: Comparable> {
    private var elements: [Element] = []

    var min: Element? { elements.first }
    var isEmpty: Bool { elements.isEmpty }

    mutating func insert(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let top = elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < elements.count, elements[left] < elements[smallest] { smallest = left }
            if right < elements.count, elements[right] < elements[smallest] { smallest = right }
            if smallest == parent { break }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
