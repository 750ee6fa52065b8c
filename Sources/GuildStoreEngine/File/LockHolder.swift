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

    /// The processes holding a `flock` on the file open at `fd`, as the kernel lists them
    /// (Linux): their pid, and their command from `/proc/PID/comm`. Empty when nothing can be
    /// read. A process that took the lock and forked lists the lock once, under the pid that
    /// took it.
    ///
    /// First from the lock table, `/proc/locks`: its entries for the file's device and inode.
    /// The kernel hands that table out a page per `read`, resuming each page at an entry count,
    /// so while other locks come and go a table longer than a page can skip an entry (one
    /// that moved up into a page already read). An entry it does list is a holder, and an
    /// exclusive lock has one; so when a few reads list none, the holders are read exactly,
    /// from every process's descriptors on the file (`holdersByDescriptor`), which costs a
    /// `stat` per open descriptor on the machine. Processes of other users whose descriptors
    /// cannot be read are not named.
    static func flockHolders(of fd: Int32) -> [LockHolder] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let device = UInt64(info.st_dev)
        // The kernel's encoding of a device number (glibc's gnu_dev_major / gnu_dev_minor).
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let inode = UInt64(info.st_ino)
        var pids: [Int32] = []
        for _ in 0..<3 where pids.isEmpty {
            guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { break }
            pids = holders(in: table.split(separator: "\n"), major: major, minor: minor, inode: inode)
        }
        if pids.isEmpty { pids = holdersByDescriptor(device: device, inode: inode, major: major, minor: minor) }
        return pids.map { pid in
            let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
            return LockHolder(pid: pid, command: comm?.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The pids of the `flock` entries on the file that every process's open descriptors show:
    /// each `/proc/PID/fd/N` that is the file (same device and inode) has its locks listed in
    /// `/proc/PID/fdinfo/N` ("lock:" lines, as `/proc/locks` writes them), one small read each.
    private static func holdersByDescriptor(device: UInt64, inode: UInt64, major: UInt64, minor: UInt64) -> [Int32] {
        var pids: [Int32] = []
        forEachDescriptor(device: device, inode: inode) { _, locks in
            for pid in holders(in: locks, major: major, minor: minor, inode: inode) where !pids.contains(pid) { pids.append(pid) }
        }
        return pids
    }

    /// The processes holding byte `byte` of the file open at `fd` shared with an
    /// open-file-description lock (`ReaderLock`): the readers' byte's holders keep its owner
    /// from checkpointing, the openers' byte's have it open read-only. Read from every process's
    /// descriptors on the file, since the lock table lists an open file description's lock
    /// under no pid. Processes of other users whose descriptors cannot be read are not named.
    static func sharedLockHolders(of fd: Int32, at byte: Int64) -> [LockHolder] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let offset = String(byte)
        var pids: [Int32] = []
        forEachDescriptor(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) { pid, locks in
            // "1: OFDLCK ADVISORY  READ -1 08:01:1837 1099511627776 1099511627776"
            let reads = locks.contains { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count >= 8 && fields[1] == "OFDLCK" && fields[3] == "READ" && fields[6] == offset
            }
            if reads && !pids.contains(pid) { pids.append(pid) }
        }
        return pids.map { pid in
            let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
            return LockHolder(pid: pid, command: comm?.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Calls `body` with the pid and the "lock:" lines of every descriptor on the machine that
    /// has the file (device and inode) open.
    private static func forEachDescriptor(device: UInt64, inode: UInt64, _ body: (Int32, [Substring]) -> Void) {
        guard let processes = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for process in processes {
            guard let pid = Int32(process),
                  let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process)/fd") else { continue }
            for descriptor in descriptors {
                var target = stat()
                guard stat("/proc/\(process)/fd/\(descriptor)", &target) == 0, UInt64(target.st_dev) == device,
                      UInt64(target.st_ino) == inode,
                      let info = try? String(contentsOfFile: "/proc/\(process)/fdinfo/\(descriptor)", encoding: .utf8) else { continue }
                body(pid, info.split(separator: "\n").compactMap { line in
                    line.hasPrefix("lock:") ? line.dropFirst("lock:".count) : nil
                })
            }
        }
    }

    /// The pids of the `flock` entries of one file among lock-table lines.
    private static func holders(in lines: [Substring], major: UInt64, minor: UInt64, inode: UInt64) -> [Int32] {
        var pids: [Int32] = []
        for line in lines {
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
