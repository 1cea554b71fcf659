// Random specs through the differential harness: emitted for each target, compiled, compared with the
// interpreter; every failure reduced to a minimal reproducer and kept.

import ArgumentParser
import ConvcDifferential
import ConvcFrontend
import ConvcSpecGenerator
import ConvcSwiftEmitter
import Foundation

@main
struct RandomSpecs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convc-random-specs",
        abstract: "Generate random valid specs, emit them, compile them and compare them with the interpreter.",
        discussion: """
            Specs come from a seeded generator aimed at the emitter's decisions (NCHWc chains, Winograd band \
            edges, in-place concats with several readers, dead branches, fusions). Each batch is emitted for \
            every target and compiled in one swiftc run; each model runs in its own process. A spec whose emitted \
            code does not compile, crashes or disagrees is reduced (layers, branches and sizes removed while it \
            still fails) and kept in --keep as NAME-TARGET.yaml, with what went wrong in its first lines. Exits 1 \
            when anything failed.
            """)

    @Option(help: "How many specs to generate.")
    var count = 64

    @Option(help: "The generator's seed: the same seed gives the same specs.")
    var seed: UInt64 = 1

    @Option(help: "Skip this many specs first (to rerun spec K of a seed: --skip K --count 1).")
    var skip = 0

    @Option(help: "Specs per compile.")
    var batch = 16

    @Option(help: "Where reproducers go.", completion: .directory)
    var keep = "random-spec-failures"

    @Flag(help: "Keep failing specs as generated, without reducing them.")
    var noReduce = false

    @Option(help: "At most this many compiles to reduce one failure.")
    var reductionBudget = 150

    @Option(
        help: "Write the specs into this folder as NAME.yaml instead of running them (to read them, or to compare what two builds of convc emit for them).",
        completion: .directory)
    var writeTo: String?

    @Option(help: "The Swift compiler to use.")
    var swiftc = "swiftc"

    func validate() throws {
        guard count >= 1, batch >= 1, skip >= 0 else { throw ValidationError("--count and --batch must be at least 1, --skip at least 0") }
    }

    func run() throws {
        var generator = SpecGenerator(seed: seed)
        for _ in 0..<skip { _ = generator.next() }
        if let writeTo {
            try FileManager.default.createDirectory(atPath: writeTo, withIntermediateDirectories: true)
            for _ in 0..<count {
                let spec = generator.next()
                try spec.yaml.write(toFile: "\(writeTo)/\(spec.name).yaml", atomically: true, encoding: .utf8)
            }
            say("wrote \(count) specs to \(writeTo)")
            return
        }
        var settings = DifferentialSettings()
        settings.swiftc = swiftc
        var checked = 0, invalid = 0, failures = 0
        try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        var remaining = count
        while remaining > 0 {
            let specs = (0..<min(batch, remaining)).map { _ in generator.next() }
            remaining -= specs.count
            let report = try runDifferential(specs.map { DifferentialCase(name: $0.name, source: $0.yaml) }, settings: settings)
            var failing: [(GeneratedSpec, EmitTarget?, String)] = []
            if let compilerOutput = report.compilerFailure {
                // One file broke the batch: compile each spec alone to find which.
                for spec in specs {
                    let alone = try runDifferential([DifferentialCase(name: spec.name, source: spec.yaml)], settings: settings)
                    if let output = alone.compilerFailure { failing.append((spec, nil, "does not compile:\n" + output)) }
                    for bug in alone.bugs { failing.append((spec, bug.target, bug.outcome.description)) }
                }
                if failing.isEmpty { failing.append((specs[0], nil, "the batch does not compile:\n" + compilerOutput)) }
            } else {
                for bug in report.bugs {
                    if let spec = specs.first(where: { $0.name == bug.name }) {
                        failing.append((spec, bug.target, bug.outcome.description))
                    }
                }
            }
            let invalidNames = Set(report.outcomes.filter { if case .invalidSpec = $0.outcome { true } else { false } }.map(\.name))
            invalid += invalidNames.count
            checked += specs.count - invalidNames.count
            for (spec, target, problem) in failing {
                failures += 1
                let reduced = noReduce ? spec : reduce(spec, target: target, settings: settings)
                let file = "\(keep)/\(spec.name)-\(target?.rawValue ?? "all").yaml"
                let header = problem.split(separator: "\n").prefix(12).map { "# " + $0 }.joined(separator: "\n")
                try (header + "\n# reduced from \(spec.layerCount) to \(reduced.layerCount) top-level layers\n" + reduced.yaml)
                    .write(toFile: file, atomically: true, encoding: .utf8)
                say("FAIL \(spec.name) (\(target?.rawValue ?? "every target")): \(problem.split(separator: "\n").first ?? "") → \(file)")
            }
            say("\(checked + invalid) of \(count) specs: \(checked) checked on \(settings.targets.count) targets, \(invalid) invalid, \(failures) failing")
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Delta debugging: takes the first smaller candidate that the frontend accepts and that still fails on
    /// `target` (or fails to compile), until none does or the budget is spent.
    func reduce(_ spec: GeneratedSpec, target: EmitTarget?, settings: DifferentialSettings) -> GeneratedSpec {
        var current = spec
        var budget = reductionBudget
        var settings = settings
        if let target { settings.targets = [target] }
        search: while budget > 0 {
            for candidate in current.smaller() {
                guard budget > 0 else { break search }
                let (model, diagnostics) = compileSpec(candidate.yaml, file: candidate.name + ".yaml")
                guard model != nil, !diagnostics.hasErrors else { continue }
                budget -= 1
                guard let report = try? runDifferential([DifferentialCase(name: candidate.name, source: candidate.yaml)], settings: settings)
                else { continue }
                if report.compilerFailure != nil || !report.bugs.isEmpty {
                    current = candidate
                    continue search
                }
            }
            break
        }
        return current
    }
}

/// A line on standard output at once (print's buffer would hold progress back when output goes to a file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
