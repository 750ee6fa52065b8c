import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import TestSupport

/// The fault suite's fixed workload, through the `Database` actor API: three trees, small and
/// overflowing values, inserts, overwrites, deletes, a bulk load that splits pages, a range
/// delete that merges them, a dropped tree, and one explicit full checkpoint in the middle
/// (background checkpoints are off, so the file operations repeat exactly from run to run and
/// `FaultPlan.crash(afterOperations:)` or a fault countdown lands on the same operation).
///
/// `run` executes the steps in order and keeps going after a failed step, so the I/O-error
/// suite sees what the engine does after each error; the crash suite stops at the crash.
struct MixedWorkload {
    let synchronous: SynchronousMode

    enum Step: Equatable { case commit(Int), checkpoint }

    static let steps: [Step] = [.commit(0), .commit(1), .commit(2), .commit(3), .checkpoint,
                                .commit(4), .commit(5), .commit(6), .commit(7)]

    /// A step that failed, with the error it threw.
    struct Failure {
        var step: Int
        var error: any Error
        /// The state the failed commit would have made (nil for a checkpoint).
        var attempted: DatabaseModel?
    }

    /// What a run left behind.
    struct Result {
        /// Every acknowledged state, oldest first; the empty database first.
        var committed: [DatabaseModel] = [[:]]
        var failures: [Failure] = []
        /// The open itself failed (with this error).
        var openError: (any Error)?
        /// The database, when the open succeeded and the run did not close it.
        var database: Database?

        var acknowledged: DatabaseModel { committed.last ?? [:] }
    }

    /// The configuration of the database at `path`: through `fileSystem` (the faulty one) or,
    /// when nil, on the real files; background checkpoints off; log messages kept in a
    /// `CapturingLogHandler` store (returned), so hundreds of rounds print nothing.
    func configuration(path: String, fileSystem: (any FileSystem)?) -> (DatabaseConfiguration, CapturingLogHandler.Store) {
        let (logger, store) = CapturingLogHandler.logger()
        let configuration = DatabaseConfiguration(.file(path), synchronous: synchronous, checkpointThreshold: 0,
                                                  mapReservation: 1 << 26, logger: logger,
                                                  fileSystem: fileSystem ?? PosixFileSystem())
        return (configuration, store)
    }

    /// Opens the database at `path` through `fileSystem` and runs every step; after a failed
    /// step, `continueAfter` decides whether the next one runs. `afterFailure` sees each
    /// failure with the database (for reads in between). The database is returned open.
    func run(path: String, fileSystem: any FileSystem,
             continueAfter: (Failure) -> Bool,
             afterFailure: (Failure, Database, DatabaseModel) async throws -> Void = { _, _, _ in }) async throws -> Result {
        var result = Result()
        let db: Database
        do {
            db = try Database.open(configuration(path: path, fileSystem: fileSystem).0)
        } catch {
            result.openError = error
            return result
        }
        result.database = db
        for (index, step) in Self.steps.enumerated() {
            var failure: Failure?
            switch step {
            case .commit(let number):
                let base = result.acknowledged
                do {
                    let after = try await db.write { tx in
                        var model = base
                        try Self.commit(number, tx, &model)
                        return model
                    }
                    result.committed.append(after)
                } catch {
                    failure = Failure(step: index, error: error, attempted: Self.model(afterCommit: number, from: base))
                }
            case .checkpoint:
                do {
                    _ = try await db.checkpoint(.full)
                } catch {
                    failure = Failure(step: index, error: error, attempted: nil)
                }
            }
            if let failure {
                result.failures.append(failure)
                try await afterFailure(failure, db, result.acknowledged)
                if !continueAfter(failure) { break }
            }
        }
        return result
    }

    /// The model after commit `number` on `base`, computed without an engine.
    static func model(afterCommit number: Int, from base: DatabaseModel) -> DatabaseModel {
        var model = base
        commitOperations(number) { ModelRecorder.apply($0, to: &model) }
        return model
    }

    /// Runs commit `number`'s operations on `tx` and `model`.
    static func commit(_ number: Int, _ tx: WriteTransaction, _ model: inout DatabaseModel) throws {
        var operations: [Operation] = []
        commitOperations(number) { operations.append($0) }
        for operation in operations {
            switch operation {
            case .put(let tree, let key, let value):
                try tx.put(bigEndianKey(key), value, in: try tx.openTree(tree))
            case .delete(let tree, let key):
                _ = try tx.delete(bigEndianKey(key), in: try tx.openTree(tree))
            case .drop(let tree):
                try tx.dropTree(tree)
            }
            ModelRecorder.apply(operation, to: &model)
        }
    }

    enum Operation {
        case put(tree: String, key: UInt64, value: [UInt8])
        case delete(tree: String, key: UInt64)
        case drop(tree: String)
    }

    enum ModelRecorder {
        static func apply(_ operation: Operation, to model: inout DatabaseModel) {
            switch operation {
            case .put(let tree, let key, let value): model[tree, default: [:]][key] = value
            case .delete(let tree, let key): model[tree, default: [:]][key] = nil
            case .drop(let tree): model[tree] = nil
            }
        }
    }

    /// The fixed operations of each commit.
    static func commitOperations(_ number: Int, _ emit: (Operation) -> Void) {
        func small(_ tag: Int) -> [UInt8] { makeValue(tag: UInt64(tag), length: 24 + tag % 80) }
        switch number {
        case 0:
            // Two trees of small values.
            for key in 0..<120 { emit(.put(tree: "accounts", key: UInt64(key), value: small(key))) }
            for key in 0..<60 { emit(.put(tree: "events", key: UInt64(key * 3), value: small(10_000 + key))) }
        case 1:
            // Overwrites, and values that need overflow chains in a third tree.
            for key in stride(from: 0, to: 120, by: 5) { emit(.put(tree: "accounts", key: UInt64(key), value: small(20_000 + key))) }
            for key in 0..<4 { emit(.put(tree: "blobs", key: UInt64(key), value: makeValue(tag: UInt64(30_000 + key), length: 6_000 + key * 1_500))) }
        case 2:
            // Deletes in one tree, inserts between existing keys in another.
            for key in stride(from: 0, to: 60, by: 4) { emit(.delete(tree: "events", key: UInt64(key * 3))) }
            for key in 0..<40 { emit(.put(tree: "events", key: UInt64(key * 3 + 1), value: small(40_000 + key))) }
        case 3:
            // Overflow chains rewritten smaller (their pages freed) and one removed.
            emit(.put(tree: "blobs", key: 1, value: small(50_001)))
            emit(.put(tree: "blobs", key: 2, value: makeValue(tag: 50_002, length: 9_000)))
            emit(.delete(tree: "blobs", key: 3))
        case 4:
            // A bulk load that splits leaves.
            for key in 1_000..<1_400 { emit(.put(tree: "accounts", key: UInt64(key), value: small(60_000 + key))) }
        case 5:
            // A range delete that empties and merges leaves.
            for key in 1_050..<1_350 { emit(.delete(tree: "accounts", key: UInt64(key))) }
        case 6:
            // A dropped tree (its pages freed) and a new one. The put makes sure the tree
            // exists when an I/O error rolled back the commit that created it.
            emit(.put(tree: "blobs", key: 100, value: small(70_100)))
            emit(.drop(tree: "blobs"))
            for key in 0..<30 { emit(.put(tree: "archive", key: UInt64(key), value: small(70_000 + key))) }
        default:
            // A few last overwrites and deletes across trees.
            emit(.put(tree: "accounts", key: 7, value: small(80_007)))
            emit(.delete(tree: "events", key: 4))
            emit(.put(tree: "archive", key: 99, value: makeValue(tag: 80_099, length: 5_000)))
        }
    }
}
