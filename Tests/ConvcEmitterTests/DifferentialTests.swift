// The emitter against the interpreter: the regression specs of Tests/Fixtures/differential and a fixed batch of
// random specs, each emitted for both targets, compiled in one swiftc run and compared (tools/random_specs.sh
// runs many more).

import ConvcDifferential
import ConvcSpecGenerator
import ConvcTestSupport
import Foundation
import Testing

@Suite(.serialized) struct Differential {
    /// The regression specs: every emitter bug found so far, and specs aimed at each kernel and layout.
    static let fixtures: [DifferentialCase] = {
        let folder = packageRoot.appendingPathComponent("Tests/Fixtures/differential")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.sorted().compactMap { file in
            guard let text = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) else { return nil }
            return DifferentialCase(name: String(file.dropLast(5)), source: text)
        }
    }()

    /// The fixed random batch: the first specs of seed 2026.
    static let randomCases: [DifferentialCase] = {
        var generator = SpecGenerator(seed: 2026)
        return (0..<8).map { _ in
            let spec = generator.next()
            return DifferentialCase(name: spec.name, source: spec.yaml)
        }
    }()

    @Test func regressionAndRandomSpecsAgreeOnBothTargets() throws {
        #expect(Self.fixtures.count >= 9)
        let cases = Self.fixtures + Self.randomCases
        // Unoptimised: it compiles four times faster and finds the same planning and indexing bugs
        // (tools/random_specs.sh compiles with -O, as users do).
        var settings = DifferentialSettings()
        settings.optimisation = "-Onone"
        let report = try runDifferential(cases, settings: settings)
        try #require(report.compilerFailure == nil, "\(report.compilerFailure ?? "")")
        #expect(report.outcomes.count == 2 * cases.count)
        for (name, target, outcome) in report.outcomes {
            switch outcome {
            case .agree: continue
            case .invalidSpec(let message):
                let generated = Self.randomCases.contains { $0.name == name }
                #expect(generated, "\(name) is invalid: \(message)")
            case .disagree, .failed:
                let source = cases.first { $0.name == name }?.source ?? ""
                Issue.record("\(name) on \(target): \(outcome)\n\(source)")
            }
        }
        // The generator's specs are valid by construction.
        let invalid = report.outcomes.filter { if case .invalidSpec = $0.outcome { true } else { false } }
        #expect(invalid.isEmpty, "\(invalid.map(\.name))")
    }

    /// The harness finds what it is for: an output off by one place, a crash, a wrong count.
    @Test func theComparisonCatchesEachKindOfFailure() throws {
        let model = try loadModel("lenet5")
        let expected: [Float] = [0.5, -2, 3, 4]
        #expect(compareOutputs([0.5, -2, 3, 4], expected, model: model) == .agree(worst: 0))
        #expect(compareOutputs([0.5, -2, 3.01, 4], expected, model: model) == .disagree(differing: 1, count: 4, worst: Float(3.01) - 3))
        #expect(compareOutputs([0.5, -2, .nan, 4], expected, model: model).isEmitterBug)
        #expect(compareOutputs([0.5, -2, 3], expected, model: model).isEmitterBug)
        // Equal infinities and NaN against NaN agree; verify's printout takes the same numbers.
        #expect(compareOutputs([.infinity, .nan], [.infinity, .nan], model: model) == .agree(worst: 0))
        let comparison = OutputComparison([0.5, 102, 3], [0.5, -2, 300], model: model)
        #expect(comparison.scale == 300 && comparison.differing == 2 && comparison.worst == 297 && !comparison.agrees)
    }
}
