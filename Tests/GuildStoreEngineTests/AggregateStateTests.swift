import Testing
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `AggregateState` keeps min, max, distinct values and floating-point sums in a shared
/// object made on first use: a copy of a state must still behave as a value.
@Suite("Aggregate state")
struct AggregateStateTests {
    @Test("a copied state and its original change independently")
    func copiesAreValues() {
        var original = AggregateState()
        original.setExtreme(.int(5))
        original.insertDistinct(.text("a"))
        original.addReal(1.5)
        original.intSum = -7

        var copy = original
        copy.setExtreme(.int(9))
        copy.insertDistinct(.text("b"))
        copy.addReal(2.25)
        copy.intSum = 11

        #expect(original.extreme == .int(5) && original.distinctCount == 1 && original.real == 1.5 && original.intSum == -7)
        #expect(copy.extreme == .int(9) && copy.distinctCount == 2 && copy.real == 3.75 && copy.intSum == 11)

        // A state that never needed the shared part reads as empty, and a copy made before the
        // first write shares nothing afterwards.
        let fresh = AggregateState()
        var later = fresh
        later.addReal(4)
        #expect(fresh.real == 0 && fresh.extreme == .null && fresh.distinctCount == 0 && fresh.uintSum == 0)
        #expect(later.real == 4)
    }

    @Test("int and uint sums are kept apart")
    func integerSums() {
        var state = AggregateState()
        state.uintSum = .max
        state.intSum = .min
        #expect(state.uintSum == .max && state.intSum == .min)
    }
}
