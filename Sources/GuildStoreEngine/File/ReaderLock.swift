#if canImport(Glibc)
import Glibc
#endif

/// The readers' byte: how a database opened read-only (`EngineConfiguration.readOnly`,
/// usually in another process than the bot that owns it) keeps its owner from changing what
/// it reads.
///
/// Invariant (RO-1): while a read-only opening holds the readers' byte (shared, from before it
/// reads anything of a snapshot until that snapshot ends, RO-2), no other opening replaces its
/// database file or restarts, rewrites or truncates its log. The byte is an
/// open-file-description lock (`F_OFD_SETLK`) at `offset` (far past any real file's end, so
/// it locks no data). The owner takes it exclusively around every restart of the log (the
/// end of a checkpoint, `StorageEngine+Checkpoint`) until the new header is written, not
/// through its sync, and around a vacuum; a checkpoint that cannot
/// have it leaves the log as it is and reports `blockedByReaders`, a vacuum or a restore
/// answers `.busy` naming the readers. The owner's commits only append frames past the end a
/// reader read, which its snapshot never looks at; what a checkpoint may copy into the file
/// meanwhile is RM-1's. The kernel drops a lock when its holder's descriptor closes or its
/// process dies: a dead reader holds nothing back.
///
/// Invariant (RM-1): a checkpoint never writes into the database file a page that a live
/// snapshot of a read-only opening reads from that file. Such an opening holds, with the
/// readers' byte, a reader mark: a shared lock on byte `marksOffset + m`, where m is the
/// count of the log's frames its snapshots read (through a commit marker of the current
/// generation). Its snapshots read every page that has a frame below m from the log, and
/// only the others from the file. The owner's checkpoint copies only versions at or below
/// the commit that ends at frame m for the lowest mark held (`lowestReaderMark`,
/// `EngineState.sequence(forFrames:)`): each such page has a frame below m, so those
/// snapshots never read it from the file. The opening holds a provisional mark before it
/// reads the log (where it last read it to, or 0 for another log or generation) and moves it
/// up to the new end after (`StorageEngine.pinReaderMark`): a checkpoint that looked for
/// marks before the provisional one chose its versions from commits already in the log,
/// which that read sees. The marks change nothing in the file: two openings' marks never
/// conflict, the kernel drops a dead opening's, and a checkpoint copies up to the lowest mark
/// while snapshots are live, where the readers' byte alone made it copy nothing.
///
/// Invariant (RO-3): a checkpoint is not starved by readers whose snapshots follow one another
/// without a gap. It first takes the checkpoint-intent byte (`intentOffset`) exclusively; a
/// read-only opening takes the readers' byte only while it can take the intent byte shared
/// (for an instant, then gives it back), so once the owner has announced its intent no new
/// snapshot begins, the live ones end, and the owner gets the readers' byte. It waits for that
/// at most until its deadline (`ownerPatience` for a passive checkpoint), then gives the
/// intent back and reports `blockedByReaders`, so a long snapshot (an export) delays new
/// snapshots by at most that much.
///
/// Invariant (RO-4): vacuum and restore, which replace the database file, refuse while a
/// read-only opening has it open, naming the processes. Every read-only opening holds the
/// openers' byte (`openersOffset`) shared from its open to its close (`takeOpenerShared`, in
/// `StorageEngine.openLocked`; closing its descriptor, or its process dying, gives it back).
/// Vacuum and restore take that byte exclusively, without waiting, before they replace
/// anything (`excludeOpeners`), and keep it until the old file's descriptor closes, so no
/// read-only opening opens the old file meanwhile: one that tries waits up to `patience`,
/// then finds the new file at the path.
package enum ReaderLock {
    /// 2^40: 1 TiB into the file, beyond any database a page count of 2^32 pages of 4 KiB
    /// reaches, and far below where `off_t` ends.
    package static let offset: Int64 = 1 << 40
    /// The checkpoint-intent byte, next to the readers' (RO-3).
    package static let intentOffset: Int64 = offset + 1
    /// The reader marks' range (RM-1): one byte per frame count of the log, 2^32 of them, past
    /// the two bytes above.
    package static let marksOffset: Int64 = offset + (1 << 32)
    package static let marksLength: Int64 = 1 << 32
    /// The openers' byte (RO-4), just past the marks' range, so that giving back the readers'
    /// locks (one release over the readers' byte through the marks) leaves it held.
    package static let openersOffset: Int64 = marksOffset + marksLength

    /// Where the mark for `frames` lies in the range. A log of 2^32 frames (16 TiB of 4 KiB
    /// pages) is past anything a database writes; a count beyond it is marked at the range's
    /// last byte, which holds back more than it needs to, never less.
    static func markOffset(_ frames: Int) -> Int64 {
        min(Int64(max(0, frames)), marksLength - 1)
    }

    /// How long a read-only opening waits for the owner's checkpoint in progress (which holds
    /// the byte exclusively while it copies) before it answers `.busy`.
    static let patience: Duration = .seconds(10)

    /// How long the owner's passive checkpoint waits for the live snapshots of read-only
    /// openings to end once it has announced its intent (RO-3).
    static let ownerPatience: Duration = .milliseconds(2)

    /// Takes the readers' byte shared through `file` (RO-3: only while no checkpoint has
    /// announced its intent), waiting while a checkpoint holds or wants it.
    /// Errors: `.busy` after `patience`, `.io`.
    static func takeShared(_ file: any FileHandleIO, patience: Duration = ReaderLock.patience) throws {
        let deadline = ContinuousClock.now + patience
        while true {
            if try file.lockReadersUnlessIntent() { return }
            guard ContinuousClock.now < deadline else {
                throw GuildStoreError.busy("\(file.path) is being checkpointed by the process that owns it; try again")
            }
            usleep(100)
        }
    }

    /// The owner's side (RO-3): announces the checkpoint's intent, waits until `deadline` for
    /// the readers' byte, and gives the intent back. True with the readers' byte held
    /// exclusively (the caller gives it back); false, holding nothing, when readers kept it.
    static func takeForCheckpoint(_ file: any FileHandleIO, deadline: ContinuousClock.Instant) throws -> Bool {
        while !(try file.lockCheckpointIntent(.exclusive)) {  // a reader holds it for an instant
            guard ContinuousClock.now < deadline else { return false }
            usleep(50)
        }
        defer { _ = try? file.lockCheckpointIntent(.none) }
        while !(try file.lockReaders(.exclusive)) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(50)
        }
        return true
    }

    /// A read-only opening's hold on the openers' byte (RO-4), taken shared through `file` for
    /// the opening's life, waiting while a vacuum or a restore holds it.
    /// Errors: `.busy` after `patience`, `.io`.
    static func takeOpenerShared(_ file: any FileHandleIO, patience: Duration = ReaderLock.patience) throws {
        let deadline = ContinuousClock.now + patience
        while true {
            if try file.lockOpeners(.shared) { return }
            guard ContinuousClock.now < deadline else {
                throw GuildStoreError.busy("\(file.path) is being replaced (a vacuum or a restore) by another opening; try again")
            }
            usleep(1000)
        }
    }

    /// Takes the openers' byte exclusively through `file`, without waiting, for an operation
    /// that replaces the file (RO-4); `.busy` naming the processes whose read-only openings
    /// have it open when one does. The byte is given back when `file` closes.
    static func excludeOpeners(_ file: any FileHandleIO, doing operation: String) throws {
        guard try file.lockOpeners(.exclusive) else {
            throw GuildStoreError.busy("\(operation) of \(file.path) needs its read-only openings closed; open in \(who(file.openerLockHolders())); try again once they close")
        }
    }

    /// Takes the readers' byte exclusively through `file`, without waiting, for an operation
    /// that replaces the file (vacuum, restore); `.busy` naming the processes reading it when
    /// one does. The caller gives the byte back (or closes `file`).
    static func excludeReaders(_ file: any FileHandleIO, doing operation: String) throws {
        guard try file.lockReaders(.exclusive) else {
            throw GuildStoreError.busy("\(operation) of \(file.path) waits for the snapshots of its read-only openings in \(who(file.readerLockHolders())) to end; try again")
        }
    }

    /// The processes a refusal names, or "another process" when none could be read.
    private static func who(_ holders: [LockHolder]) -> String {
        holders.isEmpty ? "another process" : holders.map(\.description).joined(separator: ", ")
    }
}
