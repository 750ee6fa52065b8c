import Foundation

/// The backups in some files and directories, each read by its header alone, and which of them
/// a restore can reach: for every backup, the chain that restores it (its full backup and the
/// incrementals up to it) or what breaks that chain.
///
/// Unlike `BackupCatalog.init`, a file that does not read (a damaged header, a file cut
/// short, another database's backup) does not stop the reading: it is set apart in `problems`,
/// so a listing shows every file and a rotation can leave the ones it cannot judge alone.
///
/// ```swift
/// let catalog = BackupListing.read(["/backups"])
/// let newest = catalog.entries.last { $0.isRestorable }   // where an incremental builds on
/// ```
package struct BackupListing: Sendable {
    /// A backup whose header reads.
    package struct Entry: Sendable, Equatable {
        package var info: BackupInfo
        /// The backups a restore to this one applies, full backup first, ending with this one;
        /// nil when the chain is broken.
        package var chain: [BackupInfo]?
        /// What breaks the chain, when it is broken: the parent that is missing.
        package var missing: String?

        package var isRestorable: Bool { chain != nil }
    }

    /// A file that is not a usable backup of this catalog's database, and why.
    package struct Problem: Sendable {
        package var path: String
        package var error: GuildStoreError
    }

    /// The backups, oldest commit first (ties: the one begun first).
    package var entries: [Entry]
    /// The files that did not read, or are another database's, in path order.
    package var problems: [Problem]

    /// Reads every backup file `sources` name: a directory stands for its `.gsbackup` files, a
    /// file for itself. Only the headers, or with `wholeFiles` every file whole and checked
    /// (BK-2; `pagesStored` known, and damage anywhere in a file found). When the files are of
    /// several databases, the backups of the one whose backup began last are the entries, the
    /// others problems (`.backupMismatch`).
    package static func read(_ sources: [String], wholeFiles: Bool = false,
                             fileSystem: any FileSystem = PosixFileSystem()) -> BackupListing {
        var infos: [BackupInfo] = []
        var problems: [Problem] = []
        for path in backupPaths(sources) {
            do {
                if wholeFiles {
                    let contents = try BackupFile.scan(path: path, fileSystem: fileSystem)
                    infos.append(BackupInfo(path: path, header: contents.header, pagesStored: contents.pagesStored,
                                            fileBytes: contents.fileBytes))
                } else {
                    let (header, bytes) = try BackupFile.readHeader(path: path, fileSystem: fileSystem)
                    infos.append(BackupInfo(path: path, header: header, pagesStored: nil, fileBytes: bytes))
                }
            } catch let error as GuildStoreError {
                problems.append(Problem(path: path, error: error))
            } catch {
                problems.append(Problem(path: path, error: .backupDamaged(path: path, reason: "\(error)")))
            }
        }
        if let latest = infos.max(by: { $0.startedAt < $1.startedAt }) {
            let identity = latest.databaseIdentity
            for other in infos where other.databaseIdentity != identity {
                problems.append(Problem(path: other.path, error: .backupMismatch(
                    path: other.path, reason: "it is a backup of database \(other.databaseIdentity), \(latest.path) of \(identity)")))
            }
            infos.removeAll { $0.databaseIdentity != identity }
        }
        return BackupListing(backups: infos, problems: problems.sorted { $0.path < $1.path })
    }

    /// A catalog of `backups` (all of one database), each with its chain among them.
    package init(backups: [BackupInfo], problems: [Problem] = []) {
        let ordered = backups.sorted { ($0.commitNumber, $0.startedAt, $0.path) < ($1.commitNumber, $1.startedAt, $1.path) }
        let byID = Dictionary(ordered.map { ($0.backupID, $0) }, uniquingKeysWith: { first, _ in first })
        entries = ordered.map { info in
            switch Self.chain(to: info, byID: byID) {
            case .success(let chain): Entry(info: info, chain: chain, missing: nil)
            case .failure(let missing): Entry(info: info, chain: nil, missing: missing.description)
            }
        }
        self.problems = problems
    }

    /// What breaks a chain.
    private struct MissingParent: Error, CustomStringConvertible {
        var description: String
    }

    /// The chain to `info`, full backup first: each incremental's parent is the backup with the
    /// id it names and the commit number it records (as `BackupCatalog.chain(to:)` follows it).
    private static func chain(to info: BackupInfo, byID: [UUID: BackupInfo]) -> Result<[BackupInfo], MissingParent> {
        var chain = [info]
        var current = info
        while let parentID = current.parentID {
            guard let parent = byID[parentID], parent.commitNumber == current.parentCommitNumber, chain.count <= byID.count else {
                let commit = current.parentCommitNumber.map { " (commit \($0))" } ?? ""
                return .failure(MissingParent(description: "backup \(parentID)\(commit), the parent of \(current.path)"))
            }
            chain.append(parent)
            current = parent
        }
        return .success(chain.reversed())
    }

    /// The newest backup a restore can reach; where an incremental builds on.
    package var newestRestorable: BackupInfo? {
        entries.last { $0.isRestorable }?.info
    }

    /// The restorable backups in runs of consecutive commits order (a backup whose chain is
    /// broken ends a run), oldest first: what a listing summarises as the ranges a restore reaches.
    package var restorableRuns: [[BackupInfo]] {
        var runs: [[BackupInfo]] = []
        var current: [BackupInfo] = []
        for entry in entries {
            if entry.isRestorable {
                current.append(entry.info)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// The backup files `sources` name: a directory's `.gsbackup` files in name order, and each
    /// file named.
    package static func backupPaths(_ sources: [String]) -> [String] {
        var paths: [String] = []
        for source in sources {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
                paths += names.filter { $0.hasSuffix(BackupCatalog.backupExtension) }.sorted().map { source + "/" + $0 }
            } else {
                paths.append(source)
            }
        }
        return paths
    }
}
