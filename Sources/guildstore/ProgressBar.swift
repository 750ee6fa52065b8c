import Foundation
import GuildStoreEngine

/// A one-line progress bar on standard error when it is a terminal; silent otherwise (a
/// pipe or a file gets only the command's results).
final class ProgressBar: Sendable {
    private let label: String
    private let enabled: Bool
    /// The last whole percent drawn (-1: a count without a total), so the terminal is
    /// redrawn at most 100 times; nil before the first draw.
    private let drawn = Locked<Int?>(nil)

    init(_ label: String) {
        self.label = label
        enabled = isatty(STDERR_FILENO) == 1
    }

    /// Shows `done` of `total` (a total of 0 shows just the count).
    func update(_ done: Int, of total: Int, detail: String = "") {
        guard enabled else { return }
        let percent = total > 0 ? min(100, done * 100 / total) : -1
        let redraw = drawn.withLock { last -> Bool in
            guard percent != last || total == 0 else { return false }
            last = percent
            return true
        }
        guard redraw else { return }
        let width = 30
        let filled = total > 0 ? width * min(done, total) / total : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let figures = total > 0 ? "\(percent)% \(done)/\(total)" : "\(done)"
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(figures) \(detail)\u{1B}[K".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        guard enabled, drawn.withLock({ $0 != nil }) else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
