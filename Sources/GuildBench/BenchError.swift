/// Why a benchmark run stopped.
@_spi(Benchmarks) public enum BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A contender answered a workload differently from the reference: no timing of it (or of
    /// anything after it) is reported.
    case answerMismatch(AnswerMismatch)
    /// A pattern was asked without an input it needs (a guild, a user, an event).
    case missingInput(pattern: String, input: String)
    /// A SQLite column held a storage class its column kind cannot be (a real id, a blob).
    case unexpectedSQLiteValue(kind: String, value: String)
    /// A SQLite row had a different number of columns than the pattern's.
    case unexpectedColumnCount(expected: Int, actual: Int)
    /// A contender was handed a workload it has no way to run.
    case unsupportedWorkload(workload: String, contender: String)
    /// The dataset cannot support the workloads (no guild, no message event, ...).
    case unusableDataset(String)
    /// A file operation on the benchmark's own files failed.
    case file(operation: String, path: String, reason: String)

    @_spi(Benchmarks) public var description: String {
        switch self {
        case .answerMismatch(let mismatch): "answers differ: \(mismatch)"
        case .missingInput(let pattern, let input): "\(pattern) needs a \(input)"
        case .unexpectedSQLiteValue(let kind, let value): "SQLite gave \(value) in a column of \(kind)s"
        case .unexpectedColumnCount(let expected, let actual): "SQLite gave \(actual) columns where the pattern has \(expected)"
        case .unsupportedWorkload(let workload, let contender): "\(contender) cannot run \(workload)"
        case .unusableDataset(let reason): "the dataset cannot be benchmarked: \(reason)"
        case .file(let operation, let path, let reason): "\(operation) \(path): \(reason)"
        }
    }
}
