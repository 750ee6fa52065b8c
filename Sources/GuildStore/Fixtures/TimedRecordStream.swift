/// A record and the second it happened at.
struct TimedRecord: Sendable {
    let time: Int64
    let record: IngestRecord
}

/// A stream of one event table's records.
///
/// Invariant (FX-8): times never decrease along a stream, and each stream produces exactly its
/// planned count (`FixtureProfile.messages`, ...) of records, all inside the profile's window.
protocol TimedRecordStream {
    mutating func next() -> TimedRecord?
}

/// The i-th of `count` evenly spread instants of the window: non-decreasing in i (FX-8).
func windowTime(_ i: Int, of count: Int, _ profile: FixtureProfile) -> Int64 {
    let span = profile.now - profile.windowStart
    return profile.windowStart + Int64(i) * span / Int64(max(1, count))
}
