// swift-tools-version: 6.1
//
// GuildStore: an embedded storage engine for chat bots.
//
// Targets
// - CLZ4: system library shim for liblz4 (pkg-config `liblz4`, Debian `liblz4-dev`).
// - CGuildStoreSupport: a few lines of C the engine cannot express in Swift: hardware CRC32C
//   (SSE4.2 when the CPU has it, a table otherwise) and a relaxed atomic bitset.
// - GuildStoreEngine: File, Pager, WAL, BTree, Engine and Database layers in one module, so page
//   reads inline across layers (see docs/architecture.md). swift-log carries its warnings.
// - GuildStore: the bot's front door. The seeds' guild / member / event schema as typed
//   records, migrations, the query patterns as typed methods, and (for this package's tests,
//   command line and benchmarks) the deterministic fixture generator; it re-exports
//   GuildStoreEngine, so `import GuildStore` is the one import a bot needs.
// - GuildStoreSQLite: SQLite import and export of seed 004's schema and a small SQLite connection
//   (the system libsqlite3): the command line, the tests and the Benchmarks package (through
//   `@_spi(Benchmarks)`) use it; a bot linking GuildStore links no SQLite.
// - GuildBench: the query-pattern benchmark (`guildstore bench`, and the Benchmarks package's
//   `Patterns` suite): the seeds' patterns as workloads run side by side on GuildStore and on
//   SQLite (seed 004's indexes, and the same covering indexes GuildStore declares), answers
//   checked equal before any timing, and the report (text, JSON, Markdown, SVG).
// - guildstore: the operator's command line (swift-argument-parser).
// - CSQLite: system library shim for SQLite (pkg-config `sqlite3`, Debian `libsqlite3-dev`);
//   GuildStoreSQLite and the tests link it.
//
// Access control is the architecture's statement: `public` is what a bot may call (the
// FrontDoorTests target compiles against nothing else), `package` is plumbing the package's own
// modules and tests share, and `@_spi(Benchmarks) public` is what the Benchmarks package reaches
// into (byte-level trees, the synchronous StorageEngine, GuildBench, the SQLite wrapper).
// `scripts/count-public-api` counts each.
//
// Benchmarks live in their own package under Benchmarks/ so the test build does not compile
// package-benchmark and the comparison databases.
import PackageDescription

let package = Package(
    name: "GuildStore",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GuildStore", targets: ["GuildStore"]),
        .library(name: "GuildStoreEngine", targets: ["GuildStoreEngine"]),
        .library(name: "GuildStoreSQLite", targets: ["GuildStoreSQLite"]),
        .library(name: "GuildBench", targets: ["GuildBench"]),
        .executable(name: "guildstore", targets: ["guildstore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        .target(name: "CGuildStoreSupport"),
        .target(
            name: "GuildStoreEngine",
            dependencies: ["CLZ4", "CGuildStoreSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "GuildStore", dependencies: ["GuildStoreEngine"]),
        .target(name: "GuildStoreSQLite", dependencies: ["GuildStore", "GuildStoreEngine", "CSQLite"]),
        .target(name: "GuildBench", dependencies: ["GuildStore", "GuildStoreSQLite", "GuildStoreEngine"]),
        .executableTarget(
            name: "guildstore",
            dependencies: ["GuildStore", "GuildStoreSQLite", "GuildBench", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["GuildStoreEngine", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "GuildStoreEngineTests", dependencies: ["GuildStoreEngine", "TestSupport", "CLZ4", "GuildStoreSQLite"]),
        .testTarget(name: "CrashTests", dependencies: ["GuildStoreEngine", "TestSupport"]),
        .testTarget(name: "GuildStoreTests", dependencies: ["GuildStore", "GuildStoreSQLite", "GuildBench", "TestSupport"]),
        // What a bot sees: `import GuildStore` and nothing else. Without package access the
        // package's `package` declarations are out of its reach as they are out of a bot's (no
        // @testable, no @_spi either). README.md's examples live here.
        .testTarget(name: "FrontDoorTests", dependencies: ["GuildStore"], packageAccess: false),
        // The same for the import / export module a bot adds beside it.
        .testTarget(name: "FrontDoorSQLiteTests", dependencies: ["GuildStore", "GuildStoreSQLite"], packageAccess: false),
        .testTarget(name: "GuildStoreSQLiteTests", dependencies: ["GuildStoreSQLite", "GuildStore", "TestSupport"]),
        .testTarget(name: "GuildBenchTests", dependencies: ["GuildBench", "GuildStoreSQLite", "GuildStore", "GuildStoreEngine", "TestSupport"]),
        // Runs the built `guildstore` executable as a process (`swift build` builds it beside the tests),
        // and imports it (@testable) to test its line reader.
        .testTarget(name: "CLITests", dependencies: ["guildstore", "GuildStore", "GuildStoreSQLite", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
