// swift-tools-version: 6.1
//
// GuildStore micro-benchmarks (package-benchmark, ordo-one/benchmark), kept out of the root
// package so its test build never compiles package-benchmark or the comparison databases.
//
// Targets
// - CLMDB: system library shim for LMDB (pkg-config `lmdb`, Debian `liblmdb-dev`).
// - BenchmarkSupport: temporary directories and failure helpers the suites share (their seeded
//   randomness is GuildStoreEngine's `SplitMix64`, `@_spi(Benchmarks)`).
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
// - Backup: snapshot backups (issue 12) on the default profile: GuildStore's `db.backup(to:)`
//   and restore against SQLite's online backup API (nPage = -1) and `VACUUM INTO`, each then
//   `lz4`, and lz4 -d + copy; the file sizes; a durable commit's p99 latency with and without a
//   backup running. Answers of the restored copies checked equal first (GuildBench).
//// - CLibPQ: system library shim for libpq, PostgreSQL's C client (pkg-config `libpq`, Debian
//   `libpq-dev`); only Patterns links it.
// - Patterns: GuildBench's workloads (`guildstore bench`: every query pattern on three inputs,
//   point lookups, bulk ingest, durable commits by 1 / 8 / 64 writers, retention, open with a
//   WAL) on the small profile, one benchmark per (workload, contender), answers checked equal
//   first: GuildStore, SQLite with seed 004's indexes and with the covering indexes, GRDB.swift
//   7, and PostgreSQL 15 on a throwaway cluster when its server binaries are installed.
//
// Run: `swift package benchmark` from this directory (see README.md).
import PackageDescription

let package = Package(
    name: "GuildStoreBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "GuildStore", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .target(name: "BenchmarkSupport"),
        .executableTarget(
            name: "LeafCoding",
            dependencies: [.product(name: "GuildStoreEngine", package: "GuildStore")]
        ),
        .executableTarget(
            name: "EngineCore",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GuildStoreEngine", package: "GuildStore"),
                .product(name: "GuildStoreSQLite", package: "GuildStore"),
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
                .product(name: "GuildStoreEngine", package: "GuildStore"),
                .product(name: "GuildStoreSQLite", package: "GuildStore"),
            ],
            path: "Benchmarks/Concurrency",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Tables",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GuildStore", package: "GuildStore"),
                .product(name: "GuildStoreEngine", package: "GuildStore"),
                .product(name: "GuildStoreSQLite", package: "GuildStore"),
            ],
            path: "Benchmarks/Tables",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Backup",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GuildBench", package: "GuildStore"),
                .product(name: "GuildStore", package: "GuildStore"),
                .product(name: "GuildStoreEngine", package: "GuildStore"),
                .product(name: "GuildStoreSQLite", package: "GuildStore"),
            ],
            path: "Benchmarks/Backup",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Patterns",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GuildBench", package: "GuildStore"),
                .product(name: "GuildStore", package: "GuildStore"),
                .product(name: "GuildStoreEngine", package: "GuildStore"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "CLibPQ",
            ],
            path: "Benchmarks/Patterns",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
