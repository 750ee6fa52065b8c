// The libFuzzer entry point, compiled only by `scripts/fuzz` (into one module with the engine's
// sources and Tests/GuildStoreEngineTests/Fuzzing/), never by SwiftPM. The target comes from
// GUILDSTORE_FUZZ_TARGET (`FuzzEntries.targets`); a finding traps, so libFuzzer saves the input.
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var target: String?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if target == nil {
        target = getenv("GUILDSTORE_FUZZ_TARGET").map { String(cString: $0) } ?? "page-tree"
    }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let findings = FuzzEntries.run(target!, bytes)
    if !findings.isEmpty {
        fputs("fuzz target \(target!) found: \(findings.joined(separator: "; "))\n", stderr)
        abort()
    }
    return 0
}
