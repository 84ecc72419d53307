// swift-tools-version:6.1
import PackageDescription

// Module boundaries follow ../shared/ARCHITECTURE.md: C interop lives only in the thin wrapper
// targets (Kafka, Redis, BLAS; plus CPrefetch, one compiler intrinsic the in-memory store needs
// and Swift lacks), the domain (FraudCore) knows no I/O, and transports adapt to the engine rather
// than the other way round.
let package = Package(
    name: "waqiti",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "waqiti", targets: ["waqiti"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // System libraries: nothing but the headers and the link line.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJemalloc", pkgConfig: "jemalloc", providers: [.apt(["libjemalloc-dev"])]),

        // Names the calling thread through the kernel, for the wrappers' own threads.
        .target(name: "ThreadName"),
        // Thin wrappers that own every C pointer and turn C errors into typed Swift errors.
        .target(name: "Kafka", dependencies: ["CRdKafka", "ThreadName", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Redis", dependencies: ["CHiredis", "ThreadName", .product(name: "Logging", package: "swift-log")]),
        .target(name: "BLAS", dependencies: ["COpenBLAS"]),
        // jemalloc in place of glibc's malloc in every binary that links it; its statistics.
        .target(name: "Allocator", dependencies: ["CJemalloc"]),
        // The CPU's prefetch hint, which Swift does not expose (one inline function).
        .target(name: "CPrefetch"),

        // Domain: events, decisions, money, event time, wire formats. Pure Swift, no I/O.
        .target(name: "FraudCore"),
        // Deterministic traffic generator with labeled fraud scenarios.
        .target(name: "Simulation", dependencies: ["FraudCore"]),
        // Sliding-window velocity features: in-memory ring buffers and Redis behind one protocol.
        // Optimized even in debug builds: the oracle property tests push 100k+ events through it.
        // Exclusivity is checked at compile time; the runtime re-check of every window access cost ~8% of the hot path.
        .target(name: "Features", dependencies: ["FraudCore", "Redis", "CPrefetch", "Allocator"], swiftSettings: [.unsafeFlags(["-O", "-enforce-exclusivity=unchecked"])]),
        // Rules DSL: lexer, parser, type checker, compiler to flat instructions (closures as the reference), hot reload.
        .target(name: "Rules", dependencies: [
            "FraudCore", "Features",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // Logistic regression: model file, BLAS batch scoring, training, evaluation.
        .target(name: "Model", dependencies: ["FraudCore", "Features", "Rules", "BLAS", "Reporting", .product(name: "Metrics", package: "swift-metrics")]),
        // Self-contained HTML pages with inline SVG charts and tables (replay and training reports).
        .target(name: "Reporting"),
        // Backtesting: replay sources, decision summaries and metrics, rule/model diffs, HTML report.
        .target(name: "Replay", dependencies: ["FraudCore", "Features", "Rules", "Model", "Reporting", "Kafka", "Engine", "CPrefetch", .product(name: "Logging", package: "swift-log")]),

        // decode ▶ features ▶ rules + model ▶ decision, batch-oriented; plus the Kafka pipeline services.
        .target(
            name: "Engine",
            dependencies: [
                "FraudCore", "Features", "Rules", "Model", "Kafka", "Redis", "CPrefetch", "ThreadName",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // HTTP on 8083: scoring, rules, health, Prometheus metrics, API-key/JWT authentication.
        .target(
            name: "Server",
            dependencies: [
                "Engine", "FraudCore", "Features",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The thin platform services on PostgreSQL: payment (8081), wallet (8082), reconciliation (8084).
        .target(
            name: "Services",
            dependencies: [
                "FraudCore", "Simulation", "Kafka", "Server",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations/SQL")]
        ),

        .executableTarget(
            name: "waqiti",
            dependencies: [
                "FraudCore", "Simulation", "Features", "Rules", "Model", "Kafka", "Redis", "BLAS", "Replay",
                "Engine", "Server", "Services", "Allocator",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Release-mode benchmarks: `swift run -c release waqiti-bench <suite>`; results in bench/results/.
        .executableTarget(
            name: "waqiti-bench",
            dependencies: [
                "Replay", "Engine", "FraudCore", "Simulation", "Features", "Rules", "Model", "BLAS", "Redis", "Kafka", "Allocator",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "bench/Sources/WaqitiBench"
        ),

        // The integration gate and the local stack's addresses, shared by every test target that
        // talks to a real service, and the per-test temporary folder of every target that writes files.
        .target(name: "LocalStackSupport", dependencies: [
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/LocalStackSupport"),
        .testTarget(name: "FraudCoreTests", dependencies: ["FraudCore", "Simulation", "LocalStackSupport"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "FraudCore", "LocalStackSupport"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "FraudCore", "Simulation", "Redis", "LocalStackSupport"], swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(name: "RulesTests", dependencies: [
            "Rules", "Features", "FraudCore", "Simulation", "LocalStackSupport",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "RedisTests", dependencies: ["Redis"]),
        // waqiti-bench's argument parser and every suite's declared options; runs no benchmark.
        .testTarget(name: "WaqitiBenchTests", dependencies: ["waqiti-bench"]),
        .testTarget(name: "AllocatorTests", dependencies: ["Allocator"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "ThreadName"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "Reporting", "Model", "BLAS", "Features", "Simulation", "FraudCore", "Rules", "Engine", "LocalStackSupport", .product(name: "Logging", package: "swift-log")],
                    // Read by path from the package root (and rewritten with WAQITI_REGENERATE_EXPECTED=1), not a resource.
                    exclude: ["Expected"]),
        .testTarget(name: "ModelTests", dependencies: [
            "Model", "Rules", "Features", "FraudCore", "BLAS", "Simulation", "Engine", "LocalStackSupport",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "Engine", "Features", "Rules", "Model", "FraudCore", "Kafka", "Redis", "Simulation", "LocalStackSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "Features", "FraudCore", "Rules", "LocalStackSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ServicesTests",
            dependencies: [
                "Services", "FraudCore", "Kafka", "Server", "Engine", "Features", "Rules", "LocalStackSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // TestClient: the tests' HTTP client (SwiftNIO), not URLSession.
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Launches the real `waqiti` binary (built by scripts/test) against the local stack.
        .testTarget(name: "ProcessTests", dependencies: [
            "FraudCore", "Simulation", "Kafka", "Redis", "Features", "LocalStackSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Talks to the real Redis, Kafka-protocol broker and PostgreSQL started by scripts/test.
        .testTarget(name: "IntegrationTests", dependencies: [
            "Kafka", "Redis", "BLAS", "FraudCore", "Replay", "LocalStackSupport", .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
    ]
)
