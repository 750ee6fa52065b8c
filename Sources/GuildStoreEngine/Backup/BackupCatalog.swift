import Foundation

/// What a set of backup sources holds (full and incremental backups, archived WAL segments),
/// and the plan that restores one point from them.
///
/// Invariant (AR-2): a point is restorable from a *base*, a backup whose chain of parents
/// reaches a full backup, at commit c, followed by segments of the same database file (the
/// same file nonce, WAL-7: a vacuum or a restore starts a new file whose pages the older
/// segments do not describe) that hold every commit from c + 1 to the point without a gap (a
/// segment may start at or before c + 1: commits up to c are skipped). Each base thus reaches
/// a range [c, r]; the catalog's restorable ranges are their union.
struct BackupCatalog {
    struct Piece {
        var path: String
        var header: BackupHeader
    }

    struct Segment {
        var path: String
        var header: WALSegment
    }

    var pieces: [Piece]
    var segments: [Segment]

    /// The file name endings the catalog reads in a directory.
    static let backupExtension = ".gsbackup"

    /// Every backup and segment the sources name (a directory stands for its `.gsbackup` and
    /// `.gswal` files), by their headers, all of one database: `.backupMismatch` otherwise.
    init(sources: [String], fileSystem: any FileSystem) throws {
        var paths: [String] = []
        for source in sources {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
                paths += names.filter { $0.hasSuffix(Self.backupExtension) || $0.hasSuffix(WALSegment.fileExtension) }
                    .sorted().map { source + "/" + $0 }
            } else {
                paths.append(source)
            }
        }
        var pieces: [Piece] = [], segments: [Segment] = []
        var first: (path: String, identity: DatabaseIdentity, pageSize: Int)?
        for path in paths {
            guard fileSystem.exists(path) else { throw GuildStoreError.backupChainBroken(missing: path, restorableThrough: nil) }
            let identity: DatabaseIdentity, pageSize: Int
            if path.hasSuffix(WALSegment.fileExtension) {
                let header = try WALSegment.readHeader(path: path, fileSystem: fileSystem)
                segments.append(Segment(path: path, header: header))
                (identity, pageSize) = (header.identity, header.pageSize)
            } else {
                let header = try BackupFile.readHeader(path: path, fileSystem: fileSystem).header
                pieces.append(Piece(path: path, header: header))
                (identity, pageSize) = (header.identity, header.pageSize)
            }
            if let first {
                guard identity == first.identity else {
                    throw GuildStoreError.backupMismatch(path: path, reason: "it is of database \(identity), \(first.path) of \(first.identity)")
                }
                guard pageSize == first.pageSize else {
                    throw GuildStoreError.backupMismatch(path: path, reason: "its pages are \(pageSize) bytes, \(first.path)'s \(first.pageSize)")
                }
            } else {
                first = (path, identity, pageSize)
            }
        }
        self.pieces = pieces
        self.segments = segments.sorted { ($0.header.first.number, $0.header.last.number) < ($1.header.first.number, $1.header.last.number) }
    }

    /// The chain from a full backup to `piece`, or the missing parent.
    func chain(to piece: Piece) -> Result<[Piece], GuildStoreError> {
        let byID = Dictionary(pieces.map { ($0.header.backupID, $0) }, uniquingKeysWith: { first, _ in first })
        var result = [piece]
        var current = piece
        while let parentID = current.header.parentID {
            guard let parent = byID[parentID], parent.header.commit.number == current.header.parentCommit,
                  result.count <= pieces.count else {
                return .failure(.backupChainBroken(
                    missing: "backup \(parentID) (commit \(current.header.parentCommit)), the parent of \(current.path)",
                    restorableThrough: nil))
            }
            result.append(parent)
            current = parent
        }
        return .success(result.reversed())
    }

    /// Backups whose chain is complete: the bases.
    var bases: [Piece] {
        pieces.filter { if case .success = chain(to: $0) { true } else { false } }
    }

    /// The segments that carry a base at `commit` of file `nonce` on without a gap, and the last
    /// commit they reach.
    func reach(from commit: UInt64, nonce: UInt64) -> (segments: [Segment], through: UInt64) {
        var through = commit
        var used: [Segment] = []
        while let next = segments.filter({ $0.header.fileNonce == nonce && $0.header.first.number <= through + 1 && $0.header.last.number > through })
            .max(by: { $0.header.last.number < $1.header.last.number }) {
            used.append(next)
            through = next.header.last.number
        }
        return (used, through)
    }

    /// Restorable ranges of commit numbers, merged, in order.
    var ranges: [ClosedRange<UInt64>] {
        let spans = bases.map { base -> ClosedRange<UInt64> in
            let c = base.header.commit.number
            return c...reach(from: c, nonce: base.header.fileNonce).through
        }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt64>] = []
        for span in spans {
            if let last = merged.last, span.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, span.upperBound)
            } else {
                merged.append(span)
            }
        }
        return merged
    }

    /// "commits 3...17, 40...75": what the catalog restores.
    var rangeDescription: String {
        let ranges = self.ranges
        guard !ranges.isEmpty else {
            return pieces.isEmpty && segments.isEmpty ? "no backups" : "nothing restorable (no full backup whose chain is complete)"
        }
        return "commit\(ranges.count == 1 && ranges[0].count == 1 ? "" : "s") "
            + ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)...\($0.upperBound)" }.joined(separator: ", ")
    }

    /// How one point is restored: a chain of backups, then the commits of segments after it.
    struct Plan {
        var chain: [Piece]
        var segments: [Segment]
        /// The commit the result shows.
        var target: UInt64
    }

    /// The plan for `point`. `.backupChainBroken` when the point (or, for `.latest`, a later
    /// segment) lies past a gap; `.restorePointUnavailable` when it lies outside every range.
    func plan(for point: RestorePoint, fileSystem: any FileSystem) throws -> Plan {
        let bases = self.bases
        guard !pieces.isEmpty else {
            throw GuildStoreError.restorePointUnavailable(requested: point.description, available: rangeDescription)
        }
        let reaches = bases.map { base in (base: base, reach: reach(from: base.header.commit.number, nonce: base.header.fileNonce)) }
        let newestKnown = max(pieces.map(\.header.commit.number).max() ?? 0, segments.map(\.header.last.number).max() ?? 0)
        switch point {
        case .latest:
            // The newest timeline: the base whose reach ends at the latest commit time.
            guard let best = reaches.max(by: { lastTime(of: $0) < lastTime(of: $1) }) else {
                throw brokenChainError(upTo: newestKnown)
            }
            // A later segment or backup of the same file that the chain cannot reach is a gap
            // (another file's, after a vacuum or a restore, is another timeline).
            let nonce = best.base.header.fileNonce
            let newestOfFile = max(segments.filter { $0.header.fileNonce == nonce }.map(\.header.last.number).max() ?? 0,
                                   pieces.filter { $0.header.fileNonce == nonce }.map(\.header.commit.number).max() ?? 0)
            guard best.reach.through >= newestOfFile else { throw brokenChainError(upTo: newestOfFile) }
            return try plan(best.base, best.reach.segments, target: best.reach.through)
        case .commit(let number):
            let able = reaches.filter { $0.base.header.commit.number <= number && number <= $0.reach.through }
            if let best = able.max(by: { $0.base.header.commit.number < $1.base.header.commit.number }) {
                return try plan(best.base, best.reach.segments, target: number)
            }
            // A gap: a piece holds the commit but no complete chain reaches it, or the archive
            // went on past it (a later segment) from a base before it.
            let held = segments.contains { $0.header.first.number <= number && number <= $0.header.last.number }
                || pieces.contains { $0.header.commit.number == number }
            let archivedPast = segments.contains { $0.header.first.number > number }
                && bases.contains { $0.header.commit.number <= number }
            if held || archivedPast { throw brokenChainError(upTo: number) }
            throw GuildStoreError.restorePointUnavailable(requested: point.description, available: rangeDescription)
        case .time(let date):
            let micros = date.microsecondsSince1970
            var best: (base: Piece, segments: [Segment], target: UInt64)?
            for (base, reach) in reaches where base.header.commit.time <= micros {
                var target = base.header.commit.number
                var used: [Segment] = []
                for segment in reach.segments {
                    if segment.header.last.time <= micros {
                        used.append(segment)
                        target = segment.header.last.number
                        continue
                    }
                    if segment.header.first.time <= micros {
                        var last = target
                        _ = try WALSegment.scan(path: segment.path, fileSystem: fileSystem) { commit in
                            if commit.stamp.time <= micros { last = max(last, commit.stamp.number) }
                        }
                        if last > target {
                            used.append(segment)
                            target = last
                        }
                    }
                    break
                }
                if best.map({ target > $0.target || (target == $0.target && base.header.commit.number > $0.base.header.commit.number) }) ?? true {
                    best = (base, used, target)
                }
            }
            guard let best else {
                throw GuildStoreError.restorePointUnavailable(requested: point.description, available: rangeDescription + timeDescription)
            }
            return try plan(best.base, best.segments, target: best.target)
        }
    }

    private func lastTime(of reach: (base: Piece, reach: (segments: [Segment], through: UInt64))) -> (UInt64, UInt64) {
        (reach.reach.segments.last?.header.last.time ?? reach.base.header.commit.time, reach.reach.through)
    }

    private func plan(_ base: Piece, _ segments: [Segment], target: UInt64) throws -> Plan {
        guard case .success(let chain) = self.chain(to: base) else {
            throw GuildStoreError.backupChainBroken(missing: base.path, restorableThrough: nil)
        }
        let needed = segments.filter { $0.header.first.number <= target }
        return Plan(chain: chain, segments: needed, target: target)
    }

    /// The gap before `number`: the first commit no base and segment reach, and the last one
    /// they do.
    private func brokenChainError(upTo number: UInt64) -> GuildStoreError {
        let reached = ranges.filter { $0.lowerBound <= number }.map(\.upperBound).max()
        let after = reached.map { $0 + 1 }
        if let after, let next = segments.map(\.header.first.number).filter({ $0 > after }).min() {
            return .backupChainBroken(missing: "WAL segment with commits \(after)...\(next - 1)", restorableThrough: reached)
        }
        if let broken = pieces.compactMap({ piece -> GuildStoreError? in
            guard piece.header.commit.number <= number, case .failure(let error) = chain(to: piece) else { return nil }
            return error
        }).last, case .backupChainBroken(let missing, _) = broken {
            return .backupChainBroken(missing: missing, restorableThrough: reached)
        }
        return .backupChainBroken(missing: "WAL segment with commits \((after ?? 1))...\(number)", restorableThrough: reached)
    }

    /// " (times ... to ...)": the commit times the ranges span, for messages about `--at`.
    private var timeDescription: String {
        let times = pieces.map(\.header.commit.time) + segments.flatMap { [$0.header.first.time, $0.header.last.time] }
        guard let low = times.filter({ $0 > 0 }).min(), let high = times.max() else { return "" }
        let format = { (t: UInt64) in Date(microsecondsSince1970: t).formatted(.iso8601) }
        return ", made from \(format(low)) to \(format(high))"
    }
}
