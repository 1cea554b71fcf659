// Test helpers: compile a spec held in a string, and compare diagnostics with markers placed in the source.

import ConvcDiagnostics
import ConvcFrontend
import ConvcIR
import Testing

/// An expected diagnostic at the position of `marker` (e.g. "1️⃣") in the test's source.
struct ExpectedDiagnostic {
    var marker: String
    var message: String
    var severity: Severity

    init(_ marker: String, _ message: String, severity: Severity = .error) {
        self.marker = marker
        self.message = message
        self.severity = severity
    }
}

let markers = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"]

/// Removes markers from `source` and returns the clean text with each marker's 1-based line and column.
func extractMarkers(_ source: String) -> (String, [String: (line: Int, column: Int)]) {
    var clean = ""
    var positions: [String: (Int, Int)] = [:]
    var line = 1
    var column = 1
    var rest = Substring(source)
    outer: while let character = rest.first {
        for marker in markers where rest.hasPrefix(marker) {
            positions[marker] = (line, column)
            rest = rest.dropFirst(marker.count)
            continue outer
        }
        clean.append(character)
        if character == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        rest = rest.dropFirst()
    }
    return (clean, positions)
}

/// Compiles `source` and checks that its errors and warnings are exactly `expected`, in source order.
func assertDiagnostics(
    _ source: String, _ expected: [ExpectedDiagnostic], strict: Bool = false,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let (text, positions) = extractMarkers(source)
    let (_, engine) = compileSpec(text, file: "test.yaml", strict: strict)
    let actual = engine.sorted.filter { $0.severity != .note }
    let actualText = actual.map { d in
        "\(d.location.map { "\($0.line):\($0.column)" } ?? "-"): \(d.severity.rawValue): \(d.message)"
    }
    let expectedText = expected.map { e in
        let position = positions[e.marker].map { "\($0.line):\($0.column)" } ?? "marker \(e.marker) missing"
        return "\(position): \(e.severity.rawValue): \(e.message)"
    }
    #expect(actualText == expectedText, sourceLocation: sourceLocation)
}

/// Compiles a spec that must be sound and returns its model.
func compileModel(_ source: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Model {
    let (model, engine) = compileSpec(source, file: "test.yaml")
    let messages = engine.diagnostics.map(\.formatted)
    #expect(!engine.hasErrors, "\(messages)", sourceLocation: sourceLocation)
    return try #require(model, sourceLocation: sourceLocation)
}
