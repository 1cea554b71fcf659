// Paths and loaders shared by the report tests.

import ConvcFrontend
import ConvcIR
import Foundation
import Testing

/// The package root, found from this file's path so tests run from any working directory.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func loadSpec(_ relativePath: String) throws -> Model {
    let text = try String(contentsOf: packageRoot.appendingPathComponent(relativePath), encoding: .utf8)
    let (model, engine) = compileSpec(text, file: relativePath, strict: true)
    #expect(engine.diagnostics.isEmpty, "\(engine.diagnostics.map(\.formatted))")
    return try #require(model)
}

func compile(_ text: String) throws -> Model {
    let (model, engine) = compileSpec(text, file: "test.yaml")
    #expect(!engine.hasErrors, "\(engine.diagnostics.map(\.formatted))")
    return try #require(model)
}

/// Every spec in specs/ (not specs/broken/), sorted.
let referenceSpecs: [String] = {
    let names =
        (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("specs").path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted()
}()

/// Whether to rewrite golden files instead of comparing (`CONVC_RECORD=1 swift test`).
let recording = ProcessInfo.processInfo.environment["CONVC_RECORD"] == "1"
