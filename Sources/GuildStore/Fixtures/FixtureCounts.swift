/// How many records of each kind a fixture has (planned) or a load wrote.
@_spi(Benchmarks) public struct FixtureCounts: Sendable, Hashable, CustomStringConvertible {
    package private(set) var byKind: [IngestKind: Int] = [:]

    package init() {}

    package subscript(kind: IngestKind) -> Int {
        byKind[kind, default: 0]
    }

    package mutating func add(_ kind: IngestKind, _ count: Int = 1) {
        byKind[kind, default: 0] += count
    }

    /// Records in the four gateway event tables (messages, voice, member, presence).
    package var gatewayEvents: Int {
        byKind.filter { $0.key.isGatewayEvent }.values.reduce(0, +)
    }

    package var total: Int {
        byKind.values.reduce(0, +)
    }

    @_spi(Benchmarks) public var description: String {
        IngestKind.allCases.map { "\($0.table.name) \(self[$0])" }.joined(separator: ", ")
    }
}
