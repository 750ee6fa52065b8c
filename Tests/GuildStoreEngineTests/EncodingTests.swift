import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The Encoding layer: keys whose memcmp order is the typed tuple order, compact rows, and
/// decoders that turn any malformed input into `GuildStoreError`.
///
/// Randomized tests are seeded; replay a failure with GUILDSTORE_ENCODING_SEED=<seed> (the seed
/// is in the failure message).
@Suite("Encoding")
struct EncodingTests {
    static func seed(_ fallback: UInt64) -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["GUILDSTORE_ENCODING_SEED"], let seed = UInt64(text) { return seed }
        return fallback
    }

    // MARK: (1) memcmp order is the typed order

    @Test("memcmp of encoded tuples has the sign of the typed comparison (50k random pairs)")
    func orderProperty() throws {
        let seed = Self.seed(0xE1C0_DE00_0000_0001)
        var gen = ValueGenerator(seed: seed)
        var stats = [-1: 0, 0: 0, 1: 0]
        var failures = 0
        for pairIndex in 0..<50_000 {
            let (a, b) = gen.pair()
            let ea = TupleEncoding.encode(a.values, descending: a.descending)
            let eb = TupleEncoding.encode(b.values, descending: b.descending)
            let expected = Reference.compare(a.values, b.values, descending: a.descending)
            let viaEngine = memcmpSign(ea, eb)
            let viaStdlib = ea.lexicographicallyPrecedes(eb) ? -1 : (ea == eb ? 0 : 1)
            stats[expected, default: 0] += 1
            if viaEngine != expected || viaStdlib != expected {
                failures += 1
                Issue.record("""
                    seed \(seed) pair \(pairIndex): \(a.values) vs \(b.values) descending \(a.descending): \
                    reference \(expected), compareKeys \(viaEngine), stdlib \(viaStdlib)
                    \(hex(ea))
                    \(hex(eb))
                    """)
            }
            // The library's own order (`Value.compare`, `==`, `hash`) is the reference's too.
            for (x, y) in zip(a.values, b.values) {
                let c = Value.compare(x, y)
                if c != Reference.compare(x, y) {
                    failures += 1
                    Issue.record("seed \(seed) pair \(pairIndex): Value.compare(\(x), \(y)) = \(c)")
                }
                if c == 0, x.hashValue != y.hashValue {
                    failures += 1
                    Issue.record("seed \(seed) pair \(pairIndex): equal \(x) and \(y) hash differently")
                }
            }
            if expected == 0, a.values != b.values {
                failures += 1
                Issue.record("seed \(seed) pair \(pairIndex): equal keys, unequal [Value] \(a.values) \(b.values)")
            }
            // (2) round trip through decode; (TE-3) re-encoding gives the same bytes.
            for (tuple, encoded) in [(a, ea), (b, eb)] {
                do {
                    let decoded = try TupleEncoding.decode(encoded, types: tuple.types, descending: tuple.descending)
                    if decoded != tuple.values || TupleEncoding.encode(decoded, descending: tuple.descending) != encoded {
                        failures += 1
                        Issue.record("seed \(seed) pair \(pairIndex): \(tuple.values) decoded as \(decoded)")
                    }
                } catch {
                    failures += 1
                    Issue.record("seed \(seed) pair \(pairIndex): \(tuple.values) does not decode: \(error)")
                }
            }
            if failures > 20 { break }
        }
        // The generator must exercise every outcome, equal keys included.
        #expect(stats[-1, default: 0] > 5000 && stats[1, default: 0] > 5000 && stats[0, default: 0] > 1000, "\(stats)")
    }

    @Test("sorting keys by bytes sorts tuples of one index by the reference order")
    func sortedRun() {
        let seed = Self.seed(0xE1C0_DE00_0000_0002)
        var gen = ValueGenerator(seed: seed)
        for _ in 0..<20 {
            let schema = gen.schema()
            let tuples = (0..<300).map { _ in gen.tuple(schema) }
            let byKey = tuples.sorted {
                memcmpSign(TupleEncoding.encode($0, descending: schema.descending),
                           TupleEncoding.encode($1, descending: schema.descending)) < 0
            }
            for (x, y) in zip(byKey, byKey.dropFirst()) {
                #expect(Reference.compare(x, y, descending: schema.descending) <= 0, "seed \(seed): \(x) before \(y)")
            }
        }
    }

    @Test("the documented bytes of each element type")
    func goldenBytes() throws {
        let cases: [(Value, Bool, [UInt8])] = [
            (.null, false, [0x05]),
            (.null, true, [0xFA]),
            (.bool(false), false, [0x08, 0x00]),
            (.bool(true), false, [0x08, 0x01]),
            (.int(-1), false, [0x11, 0xFE]),
            (.int(-256), false, [0x10, 0xFE, 0xFF]),
            (.int(0), false, [0x12]),
            (.int(255), false, [0x13, 0xFF]),
            (.int(Int64.max), false, [0x1A, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (.int(Int64.min), false, [0x0A, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (.uint(0), false, [0x1C]),
            (.uint(1), false, [0x1D, 1]),
            (.uint(1), true, [0xE2, 0xFE]),
            (.uint(UInt64.max), false, [0x24, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (.timestamp(1), false, [0x2F, 1]),
            (.timestamp(1_700_000_000), false, [0x32, 0x65, 0x53, 0xF1, 0x00]),
            (.double(1.0), false, [0x38, 0xBF, 0xF0, 0, 0, 0, 0, 0, 0]),
            (.double(-0.0), false, [0x38, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            (.double(-1.0), false, [0x38, 0x40, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (.double(-.nan), false, [0x38, 0xFF, 0xF8, 0, 0, 0, 0, 0, 0]),
            (.text(""), false, [0x40, 0x00, 0x00]),
            (.text("a\0b"), false, [0x40, 0x61, 0x00, 0xFF, 0x62, 0x00, 0x00]),
            (.text("a\0b"), true, [0xBF, 0x9E, 0xFF, 0x00, 0x9D, 0xFF, 0xFF]),
            (.bytes([0x00]), false, [0x48, 0x00, 0xFF, 0x00, 0x00]),
            (.json("[]"), false, [0x50, 0x5B, 0x5D, 0x00, 0x00]),
        ]
        for (value, descending, bytes) in cases {
            #expect(TupleEncoding.encode([value], descending: [descending]) == bytes, "\(value) descending \(descending)")
        }
        // A snowflake-keyed composite: (guild_id, created_at DESC).
        let key = TupleEncoding.encode([.uint(0x0123_4567_89AB_CDEF), .timestamp(0)], descending: [false, true])
        #expect(key == [0x24, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xD1])
    }

    @Test("TupleEncoder appends into one buffer and matches encode")
    func encoderReuse() {
        var encoder = TupleEncoder()
        encoder.append(.uint(42))
        encoder.append(.text("x"), descending: true)
        #expect(encoder.bytes == TupleEncoding.encode([.uint(42), .text("x")], descending: [false, true]))
        encoder.removeAll()
        encoder.append(contentsOf: [.null, .bool(true)])
        #expect(encoder.bytes == [0x05, 0x08, 0x01])
    }

    @Test("prefix ranges cover exactly the tuples with that equality prefix")
    func prefixRanges() {
        #expect(TupleEncoding.prefixSuccessor([0x01, 0x02]) == [0x01, 0x03])
        #expect(TupleEncoding.prefixSuccessor([0x01, 0xFF, 0xFF]) == [0x02])
        #expect(TupleEncoding.prefixSuccessor([0xFF, 0xFF]) == nil)
        #expect(TupleEncoding.prefixSuccessor([]) == nil)

        let seed = Self.seed(0xE1C0_DE00_0000_0003)
        var gen = ValueGenerator(seed: seed)
        for _ in 0..<5000 {
            let schema = gen.schema()
            let a = gen.tuple(schema)
            let b = gen.chance(2) ? gen.tuple(schema) : gen.mutate(a, schema)
            let k = Int.random(in: 0...a.count, using: &gen.rng)
            let (lower, upper) = TupleEncoding.prefixRange(Array(a[..<k]), descending: schema.descending)
            let key = TupleEncoding.encode(b, descending: schema.descending)
            let inside = memcmpSign(lower, key) <= 0 && (upper.map { memcmpSign(key, $0) < 0 } ?? true)
            let matches = b.count >= k && zip(a[..<k], b[..<k]).allSatisfy { Reference.compare($0, $1) == 0 }
            #expect(inside == matches, "seed \(seed): prefix \(a[..<k]) and \(b)")
        }
        // "ab" as a complete element does not cover "abc".
        let (lower, upper) = TupleEncoding.prefixRange([.text("ab")])
        let abc = TupleEncoding.encode([.text("abc"), .int(1)])
        #expect(!(memcmpSign(lower, abc) <= 0 && memcmpSign(abc, upper ?? []) < 0))
    }

    // MARK: (2) row round trips

    @Test("rows round-trip exactly, doubles bit for bit")
    func rowRoundTrip() throws {
        let seed = Self.seed(0xE1C0_DE00_0000_0004)
        var gen = ValueGenerator(seed: seed)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...12, using: &gen.rng)
            let types = (0..<count).map { _ in ColumnType.allCases.randomElement(using: &gen.rng) ?? .int }
            let values = types.map { gen.value($0) }
            let bytes = try RowEncoding.encode(values, types: types)
            let decoded = try RowEncoding.decode(bytes, types: types)
            #expect(decoded == values, "seed \(seed): \(values) -> \(hex(bytes))")
            for (x, y) in zip(values, decoded) {
                if case .double(let p) = x, case .double(let q) = y {
                    #expect(p.bitPattern == q.bitPattern, "seed \(seed): double \(p) came back \(q)")
                }
                if case .text(let p) = x, case .text(let q) = y {
                    #expect(Array(p.utf8) == Array(q.utf8))
                }
            }
        }
    }

    @Test("a row read for some columns: those equal a full decode, the rest stay as they were")
    func rowPartialDecode() throws {
        let seed = Self.seed(0xE1C0_DE00_0000_0005)
        var gen = ValueGenerator(seed: seed)
        let sentinel = Value.text("untouched")
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...12, using: &gen.rng)
            let types = (0..<count).map { _ in ColumnType.allCases.randomElement(using: &gen.rng) ?? .int }
            let values = types.map { gen.value($0) }
            let reading = types.map { _ in Bool.random(using: &gen.rng) }
            // Stored in reverse positions, as a table row with the key elsewhere would be.
            let positions = Array((0..<count).reversed())
            let bytes = try RowEncoding.encode(values, types: types)
            var row = [Value](repeating: sentinel, count: count)
            try bytes.withUnsafeBytes { try RowEncoding.decode($0, types: types, into: &row, at: positions, reading: reading) }
            for i in 0..<count {
                #expect(row[positions[i]] == (reading[i] ? values[i] : sentinel), "seed \(seed): column \(i) of \(values)")
            }
            // A row cut short anywhere is refused whichever columns are read.
            for length in 0..<bytes.count {
                let cut = Array(bytes.prefix(length))
                #expect(throws: GuildStoreError.self, "seed \(seed): \(hex(cut))") {
                    try cut.withUnsafeBytes { try RowEncoding.decode($0, types: types, into: &row, at: positions, reading: reading) }
                }
            }
        }
    }

    @Test("columns stepped over still get the cheap checks: a bool's byte, a varint's form")
    func skippedColumnsChecked() throws {
        let types: [ColumnType] = [.bool, .uint, .int]
        let skipAll = [false, false, false]
        var row = [Value](repeating: .null, count: 3)
        func decode(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try RowEncoding.decode($0, types: types, into: &row, at: [0, 1, 2], reading: skipAll) }
        }
        try decode([0x06, 0x01, 0x05, 0x02])
        #expect(throws: GuildStoreError.self) { try decode([0x06, 0x02, 0x05, 0x02]) }  // bool byte 2
        #expect(throws: GuildStoreError.self) { try decode([0x06, 0x01, 0x85, 0x00, 0x02]) }  // overlong varint
        #expect(throws: GuildStoreError.self) {  // past 64 bits
            try decode([0x06, 0x01] + [UInt8](repeating: 0xFF, count: 9) + [0x02, 0x02])
        }
        #expect(row == [.null, .null, .null])
    }

    @Test("varints read a word at a time decode as LEB128 read a byte at a time, and refuse the same bytes")
    func varintsMatchBytewiseReading() throws {
        /// The reference: unsigned LEB128, minimal, at most 10 bytes, within 64 bits.
        func reference(_ bytes: [UInt8], at start: Int) -> (value: UInt64, end: Int)? {
            var (result, shift, i) = (UInt64(0), UInt64(0), start)
            while i < bytes.count, i - start < 10 {
                let byte = bytes[i]
                i += 1
                if i - start == 10, byte > 1 { return nil }
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return byte == 0 && i - start > 1 ? nil : (result, i) }
                shift += 7
            }
            return nil
        }
        var random = SplitMix64(seed: 0x7A41)
        var inputs: [[UInt8]] = []
        // Every length's edges, encoded, with tails of 0-12 bytes after them (the word-at-a-time
        // read needs 8 readable bytes; fewer take the bytewise one).
        var values: [UInt64] = [0, 1, 127, 128, .max, .max - 1, 1 << 63, 496_882_971_312_128_000]
        for bits in 1...63 { values += [(1 << UInt64(bits)) - 1, 1 << UInt64(bits), (1 << UInt64(bits)) + 1] }
        for _ in 0..<2_000 { values.append(random.next() >> UInt64.random(in: 0...63, using: &random)) }
        for value in values {
            var encoded: [UInt8] = []
            RowEncoding.appendVarint(value, to: &encoded)
            let tail = (0..<Int.random(in: 0...12, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            inputs.append(encoded + tail)
        }
        // Malformed: non-minimal, past 64 bits, truncated, unterminated; and random bytes.
        inputs += [[0x80, 0x00], [0xFF, 0x80, 0x00] + [UInt8](repeating: 0, count: 8), [UInt8](repeating: 0xFF, count: 9) + [0x02],
                   [UInt8](repeating: 0xFF, count: 9) + [0x00], [UInt8](repeating: 0x80, count: 9) + [0x01],
                   [UInt8](repeating: 0xFF, count: 9) + [0x81, 0x00], [UInt8](repeating: 0x80, count: 8) + [0x00, 0x01],
                   [UInt8](repeating: 0xFF, count: 12), [0xFF, 0xFF], []]
        for _ in 0..<20_000 {
            inputs.append((0..<Int.random(in: 1...14, using: &random)).map { _ in
                Bool.random(using: &random) ? UInt8.random(in: 0x80...0xFF, using: &random) : UInt8.random(in: 0...0xFF, using: &random)
            })
        }
        for input in inputs {
            for start in 0...input.count {
                let expected = reference(input, at: start)
                var offset = start
                let read = input.withUnsafeBytes { RowEncoding.readVarint($0, &offset) }
                #expect(read == expected?.value, "\(input) at \(start)")
                #expect(offset == (expected?.end ?? start), "\(input) at \(start)")
            }
        }
    }

    @Test("the documented row bytes")
    func rowGoldenBytes() throws {
        let types: [ColumnType] = [.uint, .int, .text, .bool, .double, .timestamp, .json]
        let bytes = try RowEncoding.encode(
            [.uint(300), .int(-2), .null, .bool(true), .double(1.0), .timestamp(-1), .null], types: types)
        #expect(bytes == [
            0x0D,  // six columns stored (the trailing NULL json is not), some NULL: 6 << 1 | 1
            0b0000_0100,  // column 2 is NULL
            0xAC, 0x02,  // 300
            0x03,  // zigzag(-2) = 3
            0x01,  // true
            0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // 1.0 little-endian
            0x01,  // zigzag(-1) = 1
        ])
        #expect(try RowEncoding.encode([.null, .null], types: [.int, .text]) == [0x00])
        #expect(try RowEncoding.encode([.int(Int64.min), .uint(UInt64.max)], types: [.int, .uint]) == [
            0x04,  // two columns, no NULL: no bitmap
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ])
    }

    // MARK: (3) malformed input throws, never traps

    @Test("every truncation of a valid key or row is a GuildStoreError")
    func truncations() throws {
        let seed = Self.seed(0xE1C0_DE00_0000_0005)
        var gen = ValueGenerator(seed: seed)
        for _ in 0..<2000 {
            let schema = gen.schema()
            let tuple = gen.tuple(schema)
            let key = TupleEncoding.encode(tuple, descending: schema.descending)
            for cut in 0..<key.count {
                expectCorrupt("seed \(seed): key \(tuple) cut at \(cut)") {
                    _ = try TupleEncoding.decode(Array(key[..<cut]), types: schema.types, descending: schema.descending)
                }
            }
            expectCorrupt("seed \(seed): key \(tuple) with a byte appended") {
                _ = try TupleEncoding.decode(key + [0x05], types: schema.types, descending: schema.descending)
            }

            let types = (0..<Int.random(in: 1...8, using: &gen.rng)).map { _ in ColumnType.allCases.randomElement(using: &gen.rng) ?? .int }
            let values = types.map { gen.value($0) }
            let row = try RowEncoding.encode(values, types: types)
            for cut in 0..<row.count {
                expectCorrupt("seed \(seed): row \(values) cut at \(cut)") {
                    _ = try RowEncoding.decode(Array(row[..<cut]), types: types)
                }
            }
            expectCorrupt("seed \(seed): row \(values) with a byte appended") {
                _ = try RowEncoding.decode(row + [0], types: types)
            }
        }
    }

    @Test("random garbage and damaged encodings: a GuildStoreError or a consistent decode")
    func garbage() throws {
        let seed = Self.seed(0xE1C0_DE00_0000_0006)
        var gen = ValueGenerator(seed: seed)
        var decodedKeys = 0, decodedRows = 0
        for i in 0..<30_000 {
            let schema = gen.schema()
            var bytes: [UInt8]
            switch i % 3 {
            case 0:  // pure garbage
                bytes = (0..<Int.random(in: 0...40, using: &gen.rng)).map { _ in UInt8.random(in: 0...255, using: &gen.rng) }
            case 1:  // a valid key with one byte changed
                bytes = TupleEncoding.encode(gen.tuple(schema), descending: schema.descending)
                bytes[Int.random(in: 0..<bytes.count, using: &gen.rng)] = UInt8.random(in: 0...255, using: &gen.rng)
            default:  // a valid row with one byte changed
                bytes = try RowEncoding.encode(schema.types.map { gen.value($0) }, types: schema.types)
                bytes[Int.random(in: 0..<bytes.count, using: &gen.rng)] = UInt8.random(in: 0...255, using: &gen.rng)
            }
            do {
                let values = try TupleEncoding.decode(bytes, types: schema.types, descending: schema.descending)
                decodedKeys += 1
                #expect(zip(values, schema.types).allSatisfy { $0.fits($1) } && values.count == schema.types.count)
                let again = TupleEncoding.encode(values, descending: schema.descending)
                #expect(try TupleEncoding.decode(again, types: schema.types, descending: schema.descending) == values,
                        "seed \(seed): \(hex(bytes))")
            } catch is GuildStoreError {
            } catch {
                Issue.record("seed \(seed): key \(hex(bytes)) threw \(error)")
            }
            do {
                let values = try RowEncoding.decode(bytes, types: schema.types)
                decodedRows += 1
                #expect(zip(values, schema.types).allSatisfy { $0.fits($1) } && values.count == schema.types.count)
                #expect(try RowEncoding.decode(try RowEncoding.encode(values, types: schema.types), types: schema.types) == values,
                        "seed \(seed): \(hex(bytes))")
            } catch is GuildStoreError {
            } catch {
                Issue.record("seed \(seed): row \(hex(bytes)) threw \(error)")
            }
        }
        // Some damaged inputs still decode (a changed payload byte); most do not.
        #expect(decodedKeys > 0 && decodedRows > 0)
    }

    @Test("specific malformations name what is wrong")
    func specificMalformations() {
        func keyError(_ bytes: [UInt8], _ types: [ColumnType], _ descending: [Bool] = []) -> String {
            do {
                _ = try TupleEncoding.decode(bytes, types: types, descending: descending)
                return "decoded"
            } catch let GuildStoreError.corruptEncoding(reason) {
                return reason
            } catch {
                return "other error \(error)"
            }
        }
        func rowError(_ bytes: [UInt8], _ types: [ColumnType]) -> String {
            do {
                _ = try RowEncoding.decode(bytes, types: types)
                return "decoded"
            } catch let GuildStoreError.corruptEncoding(reason) {
                return reason
            } catch {
                return "other error \(error)"
            }
        }
        #expect(keyError([0x99], [.int]) == "key element 0: tag 0x99 is not NULL or int")
        #expect(keyError([0x05, 0x40, 0x61, 0x00, 0x00], [.int, .uint]) == "key element 1: tag 0x40 is not NULL or uint")
        #expect(keyError([0x08, 0x02], [.bool]) == "key element 0: bool byte 2")
        #expect(keyError([0x1D, 0x00], [.uint]) == "key element 0: non-canonical uint")
        #expect(keyError([0x1E, 0x01], [.uint]) == "key element 0: truncated uint")
        #expect(keyError([0x1D, 0x01], [.int]) == "key element 0: tag 0x1d is not NULL or int")
        #expect(keyError([0x40, 0x61, 0x00, 0x01, 0x00, 0x00], [.text]) == "key element 0: 0x00 followed by 0x1 in text")
        #expect(keyError([0x40, 0xC3, 0x28, 0x00, 0x00], [.text]) == "key element 0: invalid UTF-8 in text")
        #expect(keyError([0x40, 0xC3, 0x28, 0x00, 0x00], [.bytes]) == "key element 0: tag 0x40 is not NULL or bytes")
        #expect(keyError([0x48, 0xC3, 0x28, 0x00, 0x00], [.bytes]) == "decoded")
        #expect(keyError([0x40, 0x61], [.text]) == "key element 0: unterminated text")
        #expect(keyError([0x05], [.int]) == "decoded")
        #expect(keyError([0x05], [.int], [true]) == "key element 0: tag 0xfa is not NULL or int")
        #expect(keyError([0x05, 0x05], [.int]) == "key has 1 bytes left after its 1 elements")
        #expect(keyError([], [.int]) == "key element 0: missing (the key ends at byte 0)")

        #expect(rowError([], [.int]) == "row: bad column count varint")
        #expect(rowError([0x04, 0x01], [.int]) == "row: row stores 2 columns, the table has 1")
        #expect(rowError([0x03, 0x02, 0x01], [.int]) == "row: NULL bitmap has bits set past column 0")
        #expect(rowError([0x02, 0x80, 0x00], [.int]) == "row: column 0: bad int varint")  // not minimal
        #expect(rowError([0x02] + [UInt8](repeating: 0xFF, count: 9) + [0x02], [.uint]) == "row: column 0: bad uint varint")
        #expect(rowError([0x02] + [UInt8](repeating: 0xFF, count: 10) + [0x01], [.uint]) == "row: column 0: bad uint varint")
        #expect(rowError([0x02, 0x05, 0x61], [.text]) == "row: column 0: text of 5 bytes runs past the row's end")
        #expect(rowError([0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [.bytes])
                == "row: column 0: bytes of 18446744073709551615 bytes runs past the row's end")
        #expect(rowError([0x02, 0x02, 0xC3, 0x28], [.json]) == "row: column 0: invalid UTF-8 in json")
        #expect(rowError([0x02, 0x02], [.bool]) == "row: column 0: bool byte 2")
        #expect(rowError([0x02, 0x01, 0x00], [.bool]) == "row: 1 bytes left after column 0")
        #expect(rowError([0x02, 0, 0, 0, 0, 0, 0, 0], [.double]) == "row: column 0: truncated double")
    }

    // MARK: (4) rows written before a column was added

    @Test("a row with fewer columns decodes with the missing trailing columns NULL")
    func fewerColumns() throws {
        // members before and after a migration added nickname and roles.
        let before: [ColumnType] = [.uint, .uint, .timestamp]
        let after = before + [.text, .json]
        let old = try RowEncoding.encode([.uint(1_234_567_890_123), .uint(42), .timestamp(1_700_000_000)], types: before)
        #expect(try RowEncoding.decode(old, types: after)
                == [.uint(1_234_567_890_123), .uint(42), .timestamp(1_700_000_000), .null, .null])
        #expect(try RowEncoding.decode(old, types: before) == [.uint(1_234_567_890_123), .uint(42), .timestamp(1_700_000_000)])
        // A new row with NULLs in the new columns is byte for byte the old row (RE-1).
        #expect(try RowEncoding.encode([.uint(1_234_567_890_123), .uint(42), .timestamp(1_700_000_000), .null, .null], types: after) == old)
        // A NULL in the middle is stored; only trailing NULLs are dropped.
        let middle = try RowEncoding.encode([.uint(1), .null, .null, .text("nick"), .null], types: after)
        #expect(try RowEncoding.decode(middle, types: after) == [.uint(1), .null, .null, .text("nick"), .null])

        let seed = Self.seed(0xE1C0_DE00_0000_0007)
        var gen = ValueGenerator(seed: seed)
        for _ in 0..<2000 {
            let types = (0..<Int.random(in: 1...10, using: &gen.rng)).map { _ in ColumnType.allCases.randomElement(using: &gen.rng) ?? .int }
            let k = Int.random(in: 0...types.count, using: &gen.rng)
            let values = types[..<k].map { gen.value($0) }
            let row = try RowEncoding.encode(values, types: Array(types[..<k]))
            #expect(try RowEncoding.decode(row, types: types) == values + Array(repeating: .null, count: types.count - k),
                    "seed \(seed)")
        }
    }

    // MARK: (5) type mismatches name the column

    @Test("a value of the wrong type is a typeMismatch naming the column")
    func typeMismatch() {
        let types: [ColumnType] = [.uint, .timestamp, .text, .json]
        #expect(throws: GuildStoreError.typeMismatch(column: 1, expected: "timestamp", found: "int")) {
            try RowEncoding.encode([.uint(1), .int(1_700_000_000), .text("a"), .json("[]")], types: types)
        }
        #expect(throws: GuildStoreError.typeMismatch(column: 3, expected: "json", found: "text")) {
            try RowEncoding.encode([.uint(1), .null, .null, .text("[\"owner\"]")], types: types)
        }
        #expect(throws: GuildStoreError.typeMismatch(column: 2, expected: "text", found: "no value")) {
            try RowEncoding.encode([.uint(1), .null], types: types)
        }
        #expect(throws: GuildStoreError.typeMismatch(column: 4, expected: "no column (the table has 4)", found: "bool")) {
            try RowEncoding.encode([.uint(1), .null, .null, .null, .bool(true)], types: types)
        }
        #expect(GuildStoreError.typeMismatch(column: 1, expected: "timestamp", found: "int").description
                == "column 1: expected timestamp, found int")
    }

    @Test("Value equality is the key order's: -0.0 == 0.0, NaN == NaN, text by bytes")
    func valueEquality() {
        #expect(Value.double(-0.0) == .double(0.0))
        #expect(Value.double(.nan) == .double(-.nan))
        #expect(Value.double(.nan) > .double(.infinity))
        #expect(Set<Value>([.double(.nan), .double(.nan), .double(-0.0), .double(0.0)]).count == 2)
        #expect(Value.text("\u{E9}") != .text("e\u{301}"))  // Swift's String == says equal
        #expect(Value.int(1) != .uint(1))
        #expect(Value.null < .bool(false))
        #expect(Value.text("b") < .text("ba"))
        let literal: [Value] = [nil, 1, 1.5, true, "x"]
        #expect(literal == [.null, .int(1), .double(1.5), .bool(true), .text("x")])
    }
}

// MARK: - Helpers

/// sign(memcmp) through the engine's own key comparator.
private func memcmpSign(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compareKeys(pa, pb) } }.signum()
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
}

private func expectCorrupt(_ comment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("decoded: \(comment)", sourceLocation: sourceLocation)
    } catch is GuildStoreError {
    } catch {
        Issue.record("not a GuildStoreError (\(error)): \(comment)", sourceLocation: sourceLocation)
    }
}

/// The typed order written from Swift's own comparisons, independently of the encoder:
/// NULL first, then types by the documented rank, then each type's natural order.
private enum Reference {
    static let rank: [ColumnType?] = [nil, .bool, .int, .uint, .timestamp, .double, .text, .bytes, .json]

    static func compare(_ a: [Value], _ b: [Value], descending: [Bool]) -> Int {
        for i in 0..<min(a.count, b.count) {
            let c = compare(a[i], b[i])
            if c != 0 { return i < descending.count && descending[i] ? -c : c }
        }
        return sign(a.count, b.count)
    }

    static func compare(_ x: Value, _ y: Value) -> Int {
        let rx = rank.firstIndex(of: x.columnType) ?? -1, ry = rank.firstIndex(of: y.columnType) ?? -1
        if rx != ry { return sign(rx, ry) }
        switch (x, y) {
        case (.int(let p), .int(let q)), (.timestamp(let p), .timestamp(let q)): return sign(p, q)
        case (.uint(let p), .uint(let q)): return sign(p, q)
        case (.bool(let p), .bool(let q)): return sign(p ? 1 : 0, q ? 1 : 0)
        case (.double(let p), .double(let q)):
            switch (p.isNaN, q.isNaN) {
            case (true, true): return 0
            case (true, false): return 1
            case (false, true): return -1
            case (false, false): return sign(p, q)  // IEEE: -0.0 == 0.0
            }
        case (.text(let p), .text(let q)), (.json(let p), .json(let q)):
            // Code point order, compared as scalars (not as UTF-8, not as Swift String).
            return sequenceOrder(Array(p.unicodeScalars.map(\.value)), Array(q.unicodeScalars.map(\.value)))
        case (.bytes(let p), .bytes(let q)):
            return sequenceOrder(p, q)
        default:
            return 0  // both NULL
        }
    }

    static func sign<T: Comparable>(_ p: T, _ q: T) -> Int { p < q ? -1 : (p == q ? 0 : 1) }

    static func sequenceOrder<T: Comparable>(_ p: [T], _ q: [T]) -> Int {
        p.lexicographicallyPrecedes(q) ? -1 : (p == q ? 0 : 1)
    }
}

/// A column layout for a key: types and directions.
private struct Schema {
    var types: [ColumnType]
    var descending: [Bool]
}

private struct Tuple {
    var values: [Value]
    var types: [ColumnType]
    var descending: [Bool]
}

/// Seeded values rich in edge cases: extreme integers, signed zeros, infinities, NaNs with
/// payloads, NULLs, empty and embedded-NUL strings, unicode, and strings that are prefixes of
/// each other (built from a small set of pieces).
private struct ValueGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &rng) == 0 }

    static let ints: [Int64] = [.min, .min + 1, -1 << 32, -256, -255, -2, -1, 0, 1, 2, 127, 128, 255, 256, 1 << 32, .max - 1, .max]
    static let uints: [UInt64] = [0, 1, 2, 127, 128, 255, 256, 1 << 32, (1 << 63) - 1, 1 << 63, .max - 1, .max,
                                  1_234_567_890_123_456_789, 1_234_567_890_123_456_790]
    static let doubles: [Double] = [
        0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, .infinity, -.infinity, .nan, -.nan, .signalingNaN,
        Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF),
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .ulpOfOne, 1 + .ulpOfOne, 1_700_000_000.25,
    ]
    static let pieces: [String] = [
        "", "a", "b", "ab", "\0", "a\0", "\0\0", "\u{1}", "\u{7F}", "\u{80}", "\u{E9}", "e\u{301}", "\u{FF}",
        "\u{100}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "😀", "\u{10FFFF}", "z", "Z", " ", "owner", "\u{7FF}", "\u{800}",
    ]
    static let jsonPieces: [String] = ["[", "]", "\"owner\"", "\"mod\"", ",", "{}", "\"\0\"", "\"\u{E9}\"", "null", ""]
    static let byteAlphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]

    mutating func pick<T>(_ list: [T]) -> T { list[Int.random(in: 0..<list.count, using: &rng)] }

    mutating func value(_ type: ColumnType) -> Value {
        if chance(8) { return .null }
        switch type {
        case .int: return .int(int())
        case .timestamp: return .timestamp(chance(2) ? Int64.random(in: 1_600_000_000...1_800_000_000, using: &rng) : int())
        case .uint:
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return .uint(pick(Self.uints))
            case 1: return .uint(UInt64.random(in: 0...300, using: &rng))
            default: return .uint(rng.next())
            }
        case .double:
            switch Int.random(in: 0..<4, using: &rng) {
            case 0, 1: return .double(pick(Self.doubles))
            case 2: return .double(Double(Int.random(in: -5...5, using: &rng)) / 2)
            default: return .double(Double(bitPattern: rng.next()))
            }
        case .bool: return .bool(chance(2))
        case .text: return .text(string(Self.pieces))
        case .json: return .json(string(Self.jsonPieces))
        case .bytes: return .bytes((0..<Int.random(in: 0...5, using: &rng)).map { _ in pick(Self.byteAlphabet) })
        }
    }

    mutating func int() -> Int64 {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return pick(Self.ints)
        case 1: return Int64.random(in: -300...300, using: &rng)
        default: return Int64(bitPattern: rng.next())
        }
    }

    mutating func string(_ pieces: [String]) -> String {
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in pick(pieces) }.joined()
    }

    mutating func schema() -> Schema {
        let count = Int.random(in: 1...4, using: &rng)
        return Schema(types: (0..<count).map { _ in pick(ColumnType.allCases) },
                      descending: (0..<count).map { _ in chance(2) })
    }

    mutating func tuple(_ schema: Schema) -> [Value] { schema.types.map { value($0) } }

    /// A near neighbour of `values`: one element replaced, extended or shortened (strings and
    /// bytes grow or lose their end, so prefixes meet), or elements dropped or repeated.
    mutating func mutate(_ values: [Value], _ schema: Schema) -> [Value] {
        var result = values
        let i = Int.random(in: 0..<values.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0, 1:
            result[i] = value(schema.types[i])
        case 2:
            switch result[i] {
            case .text(let s): result[i] = .text(chance(2) ? s + pick(Self.pieces) : String(s.unicodeScalars.dropLast()))
            case .json(let s): result[i] = .json(chance(2) ? s + pick(Self.jsonPieces) : String(s.unicodeScalars.dropLast()))
            case .bytes(let b): result[i] = .bytes(chance(2) ? b + [pick(Self.byteAlphabet)] : Array(b.dropLast()))
            case .int(let v): result[i] = .int(chance(2) ? v &+ 1 : v &- 1)
            case .uint(let v): result[i] = .uint(chance(2) ? v &+ 1 : v &- 1)
            case .double(let d): result[i] = .double(chance(2) ? d.nextUp : -d)
            default: result[i] = value(schema.types[i])
            }
        case 3:
            result.removeLast(Int.random(in: 0..<values.count, using: &rng))
        default:
            break  // identical
        }
        return result
    }

    /// Two tuples for one index (shared directions): mostly one schema and near neighbours;
    /// one in ten with independent types per position (mixed types order by type rank).
    mutating func pair() -> (Tuple, Tuple) {
        let schema = schema()
        let a = tuple(schema)
        if chance(10) {
            let other = Schema(types: (0..<Int.random(in: 1...4, using: &rng)).map { _ in pick(ColumnType.allCases) },
                               descending: schema.descending)
            var directions = schema.descending
            while directions.count < other.types.count { directions.append(chance(2)) }
            return (Tuple(values: a, types: schema.types, descending: directions),
                    Tuple(values: tuple(other), types: other.types, descending: directions))
        }
        let b = chance(4) ? tuple(schema) : mutate(a, schema)
        return (Tuple(values: a, types: schema.types, descending: schema.descending),
                Tuple(values: b, types: Array(schema.types[..<b.count]), descending: schema.descending))
    }
}
