// swift-tools-version: 6.1
//
// GuildStore micro-benchmarks (package-benchmark, ordo-one/benchmark), kept out of the root
// package so its test build never compiles package-benchmark or the comparison databases.
//
// Targets
// - CSQLite3: system library shim for SQLite's C API (pkg-config `sqlite3`, Debian `libsqlite3-dev`).
// - CLMDB: system library shim for LMDB (pkg-config `lmdb`, Debian `liblmdb-dev`).
// - BenchmarkSupport: seeded randomness, temporary directories and failure helpers the suites
//   share.
// - EngineCore: point lookups, sorted and random bulk inserts and range scans, each against
//   GuildStore, SQLite and LMDB on the same keys in the same run.
// - Concurrency: durable commits per second with 1, 8 and 64 concurrent writers and read
//   latency with and without a concurrent bulk writer, GuildStore's `Database` against SQLite
//   (WAL, synchronous FULL and NORMAL) and a bare append+fdatasync, on real files.
// - LeafCoding: prices a database file's trees under other leaf encodings (front-coded and
//   column-delta keys), the evidence for README.md's "Where the bytes go"; not a benchmark.
// - Tables: seed 004's message_events with its four indexes: 1M-row bulk insert (rows per
//   second, file bytes per row) and an index range scan with an aggregate, GuildStore's table
//   API against SQLite with integer and with TEXT ids.
//
// Run: `swift package benchmark` from this directory (see README.md).
import PackageDescription

let package = Package(
    name: "GuildStoreBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "GuildStore", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        .target(name: "BenchmarkSupport", dependencies: ["CSQLite3"]),
        .executableTarget(
            name: "LeafCoding",
            dependencies: [.product(name: "StorageEngine", package: "GuildStore")]
        ),
        .executableTarget(
            name: "EngineCore",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StorageEngine", package: "GuildStore"),
                "CSQLite3",
                "CLMDB",
            ],
            path: "Benchmarks/EngineCore",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Concurrency",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StorageEngine", package: "GuildStore"),
                "CSQLite3",
            ],
            path: "Benchmarks/Concurrency",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Tables",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StorageEngine", package: "GuildStore"),
                "CSQLite3",
            ],
            path: "Benchmarks/Tables",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
