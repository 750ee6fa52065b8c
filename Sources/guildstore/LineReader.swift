import Foundation
import GuildStoreEngine

/// Standard input as numbered lines, read on a thread of its own so the writer can commit
/// whatever has arrived while the previous commit was syncing: `next(max:)` waits for at
/// least one line (or the end) and returns every line already read, up to `max`. A slow
/// producer gets each line acknowledged promptly; a fast one gets large batches.
final class LineReader: Sendable {
    private struct State {
        var lines: [(number: Int, text: String)] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    /// Starts reading standard input.
    init() {
        let thread = Thread { [state] in
            var number = 0
            while let line = readLine(strippingNewline: true) {
                number += 1
                let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    s.lines.append((number, line))
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume()
            }
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.finished = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
        thread.start()
    }

    /// The lines read since the last call, at most `max`, waiting for one if there are none;
    /// empty at the end of the input.
    func next(max: Int) async -> [(number: Int, text: String)] {
        while true {
            let taken = state.withLock { s -> [(number: Int, text: String)]? in
                guard s.lines.isEmpty else {
                    let batch = Array(s.lines.prefix(max))
                    s.lines.removeFirst(batch.count)
                    return batch
                }
                return s.finished ? [] : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Bool in
                    if !s.lines.isEmpty || s.finished { return true }
                    s.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
