/// How many records of each kind a fixture has (planned) or a load wrote.
public struct FixtureCounts: Sendable, Hashable, CustomStringConvertible {
    public private(set) var byKind: [IngestKind: Int] = [:]

    public init() {}

    public subscript(kind: IngestKind) -> Int {
        byKind[kind, default: 0]
    }

    public mutating func add(_ kind: IngestKind, _ count: Int = 1) {
        byKind[kind, default: 0] += count
    }

    /// Records in the four gateway event tables (messages, voice, member, presence).
    public var gatewayEvents: Int {
        byKind.filter { $0.key.isGatewayEvent }.values.reduce(0, +)
    }

    public var total: Int {
        byKind.values.reduce(0, +)
    }

    public var description: String {
        IngestKind.allCases.map { "\($0.table.name) \(self[$0])" }.joined(separator: ", ")
    }
}
