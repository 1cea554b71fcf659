// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "convc",
    products: [
        .executable(name: "convc", targets: ["convc"]),
        .library(name: "ConvcFrontend", targets: ["ConvcFrontend"]),
        .library(name: "ConvcReport", targets: ["ConvcReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // libyaml, found through pkg-config `yaml-0.1` (Debian: libyaml-dev).
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "ConvcDiagnostics"),
        .target(name: "ConvcIR", dependencies: ["ConvcDiagnostics"]),
        .target(name: "ConvcFrontend", dependencies: ["CYAML", "ConvcDiagnostics", "ConvcIR"]),
        .target(name: "ConvcReport", dependencies: ["ConvcDiagnostics", "ConvcIR"]),
        // Optimised even in debug builds: it reads files of hundreds of megabytes byte by byte.
        .target(name: "ConvcTensorIO", swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "ConvcSwiftEmitter", dependencies: ["ConvcDiagnostics", "ConvcIR"]),
        // The helpers emitted files carry, compiled and tested here; tools/embed_support.sh copies them into the
        // emitter.
        .target(name: "ConvcEmittedSupport", dependencies: ["ConvcTensorIO"]),
        // Random valid specs aimed at the emitter's decisions, for differential tests (standard library only).
        .target(name: "ConvcSpecGenerator"),
        // Emits specs, compiles them with swiftc, runs them and compares them with the interpreter.
        .target(
            name: "ConvcDifferential",
            dependencies: ["ConvcFrontend", "ConvcIR", "ConvcInterpreter", "ConvcSwiftEmitter", "ConvcTensorIO"]),
        // `swift run -c release convc-random-specs --help`: random specs through the differential harness, failures
        // reduced to minimal reproducers (tools/random_specs.sh).
        .executableTarget(
            name: "convc-random-specs",
            dependencies: [
                "ConvcDifferential", "ConvcFrontend", "ConvcSpecGenerator", "ConvcSwiftEmitter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Optimised even in debug builds: it is a user's run path, and the tests run full networks on it.
        .target(
            name: "ConvcInterpreter", dependencies: ["ConvcDiagnostics", "ConvcIR", "ConvcTensorIO"],
            swiftSettings: [.unsafeFlags(["-O"])]),
        .executableTarget(
            name: "convc",
            dependencies: [
                "ConvcDiagnostics", "ConvcIR", "ConvcFrontend", "ConvcReport", "ConvcTensorIO", "ConvcInterpreter", "ConvcSwiftEmitter",
                "ConvcDifferential", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ConvcFrontendTests", dependencies: ["ConvcFrontend", "ConvcIR", "ConvcDiagnostics"]),
        .testTarget(name: "ConvcReportTests", dependencies: ["ConvcFrontend", "ConvcReport", "ConvcIR"]),
        .testTarget(
            name: "ConvcInterpreterTests",
            dependencies: ["ConvcFrontend", "ConvcIR", "ConvcTensorIO", "ConvcInterpreter"]),
        .testTarget(name: "ConvcCLITests", dependencies: ["convc"]),
        // The reference specs and their models, for the tests of the emitter and of the compiled networks.
        .target(
            name: "ConvcTestSupport", dependencies: ["ConvcFrontend", "ConvcIR"], path: "Tests/Support"),
        .testTarget(
            name: "ConvcEmitterTests",
            dependencies: [
                "ConvcDifferential", "ConvcEmittedSupport", "ConvcFrontend", "ConvcIR", "ConvcSpecGenerator",
                "ConvcSwiftEmitter", "ConvcTensorIO", "ConvcTestSupport",
            ]),
    ]
)

// The 28 reference networks compiled (generated/) and their equivalence tests: the slow part of `swift test`.
// `CONVC_INNER_LOOP=1 swift test` leaves them out (docs/development.md).
if Context.environment["CONVC_INNER_LOOP"] == nil {
    package.targets += [
        // The Swift that `convc emit` writes for specs/, compiled so that CI proves each file builds. Optimised
        // even in debug builds: the equivalence tests run every network on it. Portable (no target CPU), so
        // quiet about the fused multiply-adds it goes without.
        .target(
            name: "ConvcGenerated",
            path: "generated",
            swiftSettings: [.unsafeFlags(["-O", "-warnings-as-errors"]), .define("CONVC_QUIET")]
        ),
        .testTarget(
            name: "ConvcEquivalenceTests",
            dependencies: [
                "ConvcFrontend", "ConvcIR", "ConvcReport", "ConvcTensorIO", "ConvcInterpreter", "ConvcSwiftEmitter",
                "ConvcGenerated", "ConvcTestSupport",
            ]),
    ]
}
