#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A process holding a database's lock, as `GuildStoreError.locked` names it: an operator
/// sees which bot, shard or command has the database open.
///
/// ```swift
/// do { _ = try Database.open(DatabaseConfiguration(.file("data/bot.gsdb"))) }
/// catch GuildStoreError.locked(let path, let holders) {
///     print(path, holders.map(\.pid))   // e.g. [48213], a bot running `node shard.js`
/// }
/// ```
public struct LockHolder: Equatable, Sendable, CustomStringConvertible {
    /// The process id the kernel lists for the lock.
    public let pid: Int32
    /// The process's command name (`/proc/PID/comm`) when it was looked up; nil when it had
    /// exited or cannot be read.
    public let command: String?

    package init(pid: Int32, command: String?) {
        self.pid = pid
        self.command = command
    }

    public var description: String { command.map { "pid \(pid) (\($0))" } ?? "pid \(pid)" }

    /// The processes holding a `flock` on the file open at `fd`, from the kernel's lock table
    /// (`/proc/locks`, Linux): its entries for the file's device and inode. Empty when the
    /// table cannot be read, or lists no holder in `reads` reads. A process that took the lock
    /// and forked lists the lock once, under the pid that took it.
    ///
    /// The kernel hands the table out a page per `read`, resuming each page at an entry count:
    /// while other locks come and go, a read of a table longer than a page skips entries (one
    /// that moved up into a page already read) or repeats them. So the caller, which has just
    /// been refused the lock, reads again until a read lists a holder: an exclusive lock has
    /// one entry, and a read that shows it is complete for this file.
    static func flockHolders(of fd: Int32, reads: Int = 500) -> [LockHolder] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let device = UInt64(info.st_dev)
        // The kernel's encoding of a device number (glibc's gnu_dev_major / gnu_dev_minor).
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        for _ in 0..<max(1, reads) {
            guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return [] }
            let pids = holders(in: table, major: major, minor: minor, inode: UInt64(info.st_ino))
            guard pids.isEmpty else {
                return pids.map { pid in
                    let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
                    return LockHolder(pid: pid, command: comm?.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
        }
        return []
    }

    /// The pids of the `flock` entries of one file in one read of `/proc/locks`.
    private static func holders(in table: String, major: UInt64, minor: UInt64, inode: UInt64) -> [Int32] {
        var pids: [Int32] = []
        for line in table.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1837 0 EOF"; waiters have "->" after the
            // number and hold nothing.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]) else { continue }
            let file = fields[5].split(separator: ":")
            guard file.count == 3, UInt64(file[0], radix: 16) == major, UInt64(file[1], radix: 16) == minor,
                  UInt64(file[2]) == inode, !pids.contains(pid) else { continue }
            pids.append(pid)
        }
        return pids
    }
}
