import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore backup verify PATH...`: reads every backup file named (a directory stands for
/// its `.gsbackup` files) whole and checks it, as a restore would (BK-2), then each backup's
/// chain: its parent, and the parent's parent up to a full backup, there and sound. Prints
/// `ok` per sound file; names every damaged file and broken chain on standard error and exits 1.
struct BackupVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Read backups whole and check them and their chains.",
        discussion: """
            Reads only. Each file's header, every page's checksum, the manifest and the LZ4 frame's checksum are \
            checked, and each incremental's chain back to its full backup must be there and sound. Exits 1 naming every \
            damaged file and broken chain (and when there is no backup at all).
            """)

    @Argument(help: "Backup files and directories of them.") var paths: [String]

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name at least one backup file or directory") }
    }

    func run() async throws {
        let catalog = BackupListing.read(paths, wholeFiles: true)
        for entry in catalog.entries where entry.isRestorable {
            let info = entry.info
            let stored = info.pagesStored.map(String.init) ?? "?"
            print("ok \(info.path): \(info.kind), commit \(info.commitNumber) (\(BackupFormatting.time(info.commitTime))), "
                  + "\(stored) of \(info.pageCount) pages, chain of \(entry.chain?.count ?? 0)")
        }
        for problem in catalog.problems { report("\(problem.error)") }
        let broken = catalog.entries.filter { !$0.isRestorable }
        for entry in broken {
            report("chain broken: \(entry.info.path) needs \(entry.missing ?? "a missing backup"), which is missing or damaged")
        }
        if catalog.entries.isEmpty && catalog.problems.isEmpty {
            report("no backups in \(paths.joined(separator: ", "))")
            throw ExitCode.failure
        }
        guard catalog.problems.isEmpty && broken.isEmpty else {
            report("\(catalog.problems.count) damaged or foreign file\(catalog.problems.count == 1 ? "" : "s"), "
                   + "\(broken.count) broken chain\(broken.count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
    }
}
