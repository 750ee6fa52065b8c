/// The archive marks: how an archiver in another process than the database's owner
/// (`guildstore archive`, `Database.followArchive`) keeps the owner's log from restarting over
/// commits it has not archived yet.
///
/// Invariant (AR-3): while an archiver holds its mark at commit n (a shared
/// open-file-description lock on byte `marksOffset + n`, n the last commit its archive holds
/// with every commit before it), the owner does not restart its log past a commit above n.
/// Before a restart the owner asks the kernel for any mark below its log's last commit
/// (`StorageEngine.archiverBehind`); when there is one it takes the wanted byte exclusively,
/// which an archiver polls (`archiveWanted`), and waits for the marks to reach that commit
/// (`waitForArchivers`), holding the writer token when the writer's turn runs the restart (so
/// nothing appends) but never the readers' byte (the archiver may need a snapshot, for a
/// base, meanwhile). The archiver copies the log's generation into a WAL segment (synced and
/// renamed into place, as AR-1 writes them; commits still being appended are left to a later,
/// longer segment of the generation, which replaces it) and then moves its mark. The restart
/// itself, holding the writer token, asks once more and gives up if a mark is still below.
/// An archiver that does not answer within `archiverPatience` (a second by default) leaves
/// the log as it is (it keeps its commits and grows, `statistics().archiveError` says why),
/// and restarts do not wait for it again until its mark moves (`EngineState.archiverRefusal`),
/// so a stalled archiver costs the writer one wait. The archiver syncs the log before it
/// copies it, so a segment never holds a commit a power cut could take from the owner. The kernel drops a dead archiver's mark with its
/// descriptors, so a killed archiver holds nothing back; the commits restarted over while
/// none ran are a gap, which the next archiver closes with a new base (AR-2).
package enum ArchiveLock {
    /// 2^42: past the readers' byte, the intent byte and the reader marks (`ReaderLock`), none
    /// of which reaches it.
    package static let wantedOffset: Int64 = 1 << 42
    /// The marks' range: one byte per commit number, past the wanted byte.
    package static let marksOffset: Int64 = wantedOffset + 1
    package static let marksLength: Int64 = 1 << 60

    /// Where the mark for `commit` lies in the range. A commit number beyond the range is
    /// marked at its last byte, which holds back more than it needs to, never less.
    static func markOffset(_ commit: UInt64) -> Int64 {
        Int64(min(commit, UInt64(marksLength - 1)))
    }

    /// How often an archiver asks whether the owner waits for it.
    static let pollInterval: Duration = .milliseconds(5)
}
