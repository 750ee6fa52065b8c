// swift-tools-version: 6.1
//
// GuildStore: an embedded storage engine for chat bots.
//
// Targets
// - CLZ4: system library shim for liblz4 (pkg-config `liblz4`, Debian `liblz4-dev`).
// - CGuildStoreSupport: a few lines of C the engine cannot express in Swift: hardware CRC32C
//   (SSE4.2 when the CPU has it, a table otherwise) and a relaxed atomic bitset.
// - StorageEngine: File, Pager, WAL, BTree, Engine and Database layers in one module, so page
//   reads inline across layers (see ../shared/DESIGN.md). swift-log carries its warnings.
// - guildstore: the demo / command-line executable.
// - CSQLite: system library shim for SQLite (pkg-config `sqlite3`, Debian `libsqlite3-dev`);
//   only the tests link it, as the reference for the differential query tests.
//
// Benchmarks live in their own package under Benchmarks/ so the test build does not compile
// package-benchmark and the comparison databases.
import PackageDescription

let package = Package(
    name: "GuildStore",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StorageEngine", targets: ["StorageEngine"]),
        .executable(name: "guildstore", targets: ["guildstore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
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
            name: "StorageEngine",
            dependencies: ["CLZ4", "CGuildStoreSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(name: "guildstore", dependencies: ["StorageEngine"]),
        .target(
            name: "TestSupport",
            dependencies: ["StorageEngine", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "StorageEngineTests", dependencies: ["StorageEngine", "TestSupport", "CLZ4", "CSQLite"]),
        .testTarget(name: "CrashTests", dependencies: ["StorageEngine", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
