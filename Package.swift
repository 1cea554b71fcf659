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
        // The Swift that `convc emit` writes for specs/, compiled so that CI proves each file builds. Optimised
        // even in debug builds: the equivalence tests run every network on it. Portable (no target CPU), so
        // quiet about the fused multiply-adds it goes without.
        .target(
            name: "ConvcGenerated",
            path: "generated",
            swiftSettings: [.unsafeFlags(["-O"]), .define("CONVC_QUIET")]
        ),
        // Optimised even in debug builds: it is a user's run path, and the tests run full networks on it.
        .target(
            name: "ConvcInterpreter", dependencies: ["ConvcDiagnostics", "ConvcIR", "ConvcTensorIO"],
            swiftSettings: [.unsafeFlags(["-O"])]),
        .executableTarget(
            name: "convc",
            dependencies: [
                "ConvcDiagnostics", "ConvcIR", "ConvcFrontend", "ConvcReport", "ConvcTensorIO", "ConvcInterpreter", "ConvcSwiftEmitter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ConvcFrontendTests", dependencies: ["ConvcFrontend", "ConvcIR", "ConvcDiagnostics"]),
        .testTarget(name: "ConvcReportTests", dependencies: ["ConvcFrontend", "ConvcReport", "ConvcIR"]),
        .testTarget(
            name: "ConvcInterpreterTests",
            dependencies: ["ConvcFrontend", "ConvcIR", "ConvcTensorIO", "ConvcInterpreter"]),
        .testTarget(name: "ConvcCLITests", dependencies: ["convc"]),
        .testTarget(
            name: "ConvcEquivalenceTests",
            dependencies: [
                "ConvcFrontend", "ConvcIR", "ConvcReport", "ConvcTensorIO", "ConvcInterpreter", "ConvcSwiftEmitter",
                "ConvcGenerated",
            ]),
    ]
)
