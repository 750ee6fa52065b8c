#if canImport(Glibc)
import Glibc
#endif

/// The readers' byte: how a database opened read-only (`EngineConfiguration.readOnly`,
/// usually in another process than the bot that owns it) keeps its owner from changing what
/// it reads.
///
/// Invariant (RO-1): while any read-only opening of a database is open, no other opening
/// writes its database file or restarts, rewrites or truncates its log before the last frame
/// that opening read. A read-only opening holds a shared lock of its open file description
/// (`F_OFD_SETLK`) on one byte of the database file, at `offset` (far past any real file's
/// end, so it locks no data), from before it reads the file's header until it closes. The
/// owner takes the same byte exclusively, without waiting, around every change of the file
/// or of the log's earlier frames: each checkpoint (its copy and the log's restart,
/// `StorageEngine+Checkpoint`) and a vacuum; refused, a checkpoint copies nothing and
/// reports `blockedByReaders`, a vacuum answers `.busy` naming the readers. The owner's
/// commits only append frames past the end a reader read, which it never looks at (its
/// snapshot is the last commit whose frames it read whole at open). The kernel drops a lock
/// when its holder's descriptor closes or its process dies: a dead reader holds nothing back.
package enum ReaderLock {
    /// 2^40: 1 TiB into the file, beyond any database a page count of 2^32 pages of 4 KiB
    /// reaches, and far below where `off_t` ends.
    package static let offset: Int64 = 1 << 40

    /// How long a read-only opening waits for the owner's checkpoint in progress (which holds
    /// the byte exclusively while it copies) before it answers `.busy`.
    static let patience: Duration = .seconds(10)

    /// Takes the readers' byte shared through `file`, waiting while a checkpoint holds it.
    /// Errors: `.busy` after `patience`, `.io`.
    static func takeShared(_ file: any FileHandleIO, patience: Duration = ReaderLock.patience) throws {
        let deadline = ContinuousClock.now + patience
        while !(try file.lockReaders(.shared)) {
            guard ContinuousClock.now < deadline else {
                throw GuildStoreError.busy("\(file.path) is being checkpointed by the process that owns it; try again")
            }
            usleep(1_000)
        }
    }

    /// Takes the readers' byte exclusively through `file`, without waiting, for an operation
    /// that replaces the file (vacuum, restore); `.busy` naming the processes reading it when
    /// one does. The caller gives the byte back (or closes `file`).
    static func excludeReaders(_ file: any FileHandleIO, doing operation: String) throws {
        guard try file.lockReaders(.exclusive) else {
            let holders = file.readerLockHolders()
            let who = holders.isEmpty ? "another process" : holders.map(\.description).joined(separator: ", ")
            throw GuildStoreError.busy("\(operation) needs \(file.path) closed by the read-only openings of \(who)")
        }
    }
}
