import Foundation

/// Whether a backup holds the whole database or the pages changed since its parent.
public enum BackupKind: UInt32, Sendable, Equatable, CustomStringConvertible {
    case full = 1
    case incremental = 2

    public var description: String { self == .full ? "full" : "incremental" }
}

/// What a backup file holds, as `Database.backup(to:)` wrote it or `Database.verifyBackup(at:)`
/// read it.
///
/// ```swift
/// let info = try await db.backup(to: "/backups/bot-full.gsbackup")
/// print("commit \(info.commitNumber) at \(info.commitTime): \(info.fileBytes) bytes")
/// ```
public struct BackupInfo: Sendable, Equatable {
    public var path: String
    public var kind: BackupKind
    /// The database it came from (BK-3).
    public var databaseIdentity: DatabaseIdentity
    public var backupID: UUID
    /// The backup an incremental builds on; nil for a full backup.
    public var parentID: UUID?
    public var parentCommitNumber: UInt64?
    /// The last commit the backup holds, numbered from 1 over the database's life.
    public var commitNumber: UInt64
    /// When that commit was made (nil for an empty database that never committed).
    public var commitTime: Date?
    /// When the backup began.
    public var startedAt: Date
    public var pageSize: Int
    /// Pages of the database at the snapshot.
    public var pageCount: Int
    /// Pages written into this file (free pages and, in an incremental, unchanged ones are left
    /// out); nil when only the header was read (`Database.backups(in:)`).
    public var pagesStored: Int?
    /// Size of the backup file.
    public var fileBytes: Int64
    /// Size of the database the backup restores to: page count × page size.
    public var databaseBytes: Int64 { Int64(pageCount) * Int64(pageSize) }

    init(path: String, header: BackupHeader, pagesStored: Int?, fileBytes: Int64) {
        self.path = path
        kind = header.kind
        databaseIdentity = header.identity
        backupID = header.backupID
        parentID = header.parentID
        parentCommitNumber = header.parentID == nil ? nil : header.parentCommit
        commitNumber = header.commit.number
        commitTime = header.commit.time == 0 ? nil : Date(microsecondsSince1970: header.commit.time)
        startedAt = Date(microsecondsSince1970: header.startedAt)
        pageSize = header.pageSize
        pageCount = Int(header.pageCount)
        self.pagesStored = pagesStored
        self.fileBytes = fileBytes
    }
}

/// How far a running backup or restore has come, for a progress bar.
public struct BackupProgress: Sendable, Equatable {
    /// Pages read (a backup) or written (a restore) so far.
    public var pagesDone: Int
    /// Pages there are to do.
    public var pagesTotal: Int
}

/// The point a restore brings the database back to.
///
/// ```swift
/// try Database.restore(from: ["/backups"], to: "restored.gsdb", at: .commit(1_204))
/// try Database.restore(from: ["/backups"], to: "restored.gsdb", at: .time(oneHourAgo))
/// ```
public enum RestorePoint: Sendable, Equatable, CustomStringConvertible {
    /// The newest commit the backups hold.
    case latest
    /// Exactly this commit number.
    case commit(UInt64)
    /// The last commit made at or before this time.
    case time(Date)

    public var description: String {
        switch self {
        case .latest: "the latest commit"
        case .commit(let n): "commit \(n)"
        case .time(let date): "time \(date.formatted(.iso8601))"
        }
    }
}

/// What `Database.restore` did.
public struct RestoreResult: Sendable, Equatable {
    /// The database file written.
    public var path: String
    /// The commit the database now shows, and when it was made.
    public var commitNumber: UInt64
    public var commitTime: Date?
    /// The backup files applied, oldest first.
    public var backupsApplied: [String]
    /// Pages written into the new database file.
    public var pagesWritten: Int
}

extension Date {
    init(microsecondsSince1970 micros: UInt64) {
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    var microsecondsSince1970: UInt64 { UInt64(max(0, timeIntervalSince1970 * 1_000_000)) }
}
