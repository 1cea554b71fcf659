// Differential testing of the emitter: specs emitted for each target, compiled together with swiftc, run, and
// compared with the interpreter on the same seeded weights and inputs.

import ConvcFrontend
import ConvcIR
import ConvcInterpreter
import ConvcSwiftEmitter
import ConvcTensorIO
import Foundation

/// A spec to test: its text and the file name its diagnostics and emitted comments carry.
public struct DifferentialCase: Sendable {
    public var name: String
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

/// What happened to one case on one target.
public enum DifferentialOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The emitted code and the interpreter agree (to 1e-4 of the output's scale).
    case agree(worst: Float)
    /// `differing` of `count` outputs are beyond the tolerance; `worst` is the largest difference.
    case disagree(differing: Int, count: Int, worst: Float)
    /// The compiled model failed, crashed or returned the wrong number of values.
    case failed(String)
    /// The frontend rejects the spec (the generator's mistake, not the emitter's).
    case invalidSpec(String)

    public var isEmitterBug: Bool {
        switch self {
        case .agree, .invalidSpec: false
        case .disagree, .failed: true
        }
    }

    public var description: String {
        switch self {
        case .agree(let worst): "agree (max difference \(worst))"
        case .disagree(let differing, let count, let worst):
            "\(differing) of \(count) outputs differ (max difference \(worst))"
        case .failed(let message): "failed: \(message)"
        case .invalidSpec(let message): "invalid spec: \(message)"
        }
    }
}

/// The result of one harness run: an outcome per case and target, or the compiler's output when the emitted
/// files did not compile.
public struct DifferentialReport: Sendable {
    public var outcomes: [(name: String, target: EmitTarget, outcome: DifferentialOutcome)]
    /// Set when swiftc rejected the emitted files: its output, naming the file that failed.
    public var compilerFailure: String?

    public var bugs: [(name: String, target: EmitTarget, outcome: DifferentialOutcome)] {
        outcomes.filter(\.outcome.isEmitterBug)
    }
}

/// How a harness run compiles and runs.
public struct DifferentialSettings: Sendable {
    public var targets: [EmitTarget] = EmitTarget.allCases
    public var swiftc = "swiftc"
    /// Samples per input: more than one exercises the batch loop.
    public var batch = 2
    /// Threads the emitted code and the interpreter run on; two takes the parallel paths.
    public var threads = 2
    public var seed: UInt64 = 0
    /// `-O`, as users build; `-Onone` compiles four times faster and finds the same planning bugs (not those the
    /// optimiser would expose).
    public var optimisation = "-O"
    /// Where the emitted files, weights, inputs and outputs go; a fresh temporary folder when nil.
    public var folder: URL?

    public init() {}
}

/// Emits every valid case for every target into one folder, compiles them with one swiftc run, runs each model
/// in its own process (so a crash is attributed to its model) and compares it with the interpreter.
public func runDifferential(_ cases: [DifferentialCase], settings: DifferentialSettings = DifferentialSettings())
    throws -> DifferentialReport
{
    let folder = settings.folder
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("convc-differential-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { if settings.folder == nil { try? FileManager.default.removeItem(at: folder) } }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    var report = DifferentialReport(outcomes: [], compilerFailure: nil)
    var prepared: [(index: Int, name: String, model: Model, expected: [Float])] = []
    var sources: [String] = []
    for (index, item) in cases.enumerated() {
        let (compiled, diagnostics) = compileSpec(item.source, file: item.name + ".yaml")
        guard let model = compiled, !diagnostics.hasErrors else {
            let message = diagnostics.diagnostics.first.map(\.message) ?? "no model"
            for target in settings.targets { report.outcomes.append((item.name, target, .invalidSpec(message))) }
            continue
        }
        let seed = settings.seed &+ UInt64(index) &* 2
        var stored: [String: StoredTensor] = [:]
        let tensors = initialWeights(for: model, seed: seed, randomStatistics: true)
        for (name, tensor) in tensors { stored[name] = tensor }
        let weights = try WeightSet(model: model, tensors: stored)
        try Data(SafeTensors.serialize(tensors)).write(to: URL(fileURLWithPath: path("case\(index).safetensors")))
        let input = seededInput(shape: [settings.batch] + model.inputShape.dims, seed: seed &+ 1)
        try floatData(input.values).write(to: URL(fileURLWithPath: path("case\(index).input")))
        let expected = try Interpreter(model: model, weights: weights, threads: settings.threads).run(input).values
        prepared.append((index, item.name, model, expected))
        for target in settings.targets {
            let typeName = "Case\(index)\(target.rawValue.capitalized)"
            let source = emitSwift(
                model, options: EmitOptions(sourcePath: item.name + ".yaml", typeName: typeName, access: "internal", target: target))
            let file = "case\(index)_\(target.rawValue).swift"
            try Data(source.utf8).write(to: URL(fileURLWithPath: path(file)))
            sources.append(path(file))
        }
    }
    guard !prepared.isEmpty else { return report }
    let runs = prepared.flatMap { item in settings.targets.map { (item.index, $0) } }
    try Data(runnerSource(runs, threads: settings.threads).utf8).write(to: URL(fileURLWithPath: path("main.swift")))

    let compile = try runProcess(
        settings.swiftc,
        [settings.optimisation, "-target-cpu", "native", "-DCONVC_FMA", "-DCONVC_QUIET", "-warnings-as-errors",
            "-j\(ProcessInfo.processInfo.activeProcessorCount)", "-module-name", "Differential"] + sources
            + [path("main.swift"), "-o", path("models")])
    guard compile.status == 0 else {
        report.compilerFailure = compile.output
        return report
    }
    for item in prepared {
        for target in settings.targets {
            let run = try runProcess(path("models"), [folder.path, String(item.index), target.rawValue])
            let outcome: DifferentialOutcome
            if run.status != 0 {
                outcome = .failed("exit status \(run.status): \(run.output.prefix(2000))")
            } else {
                let output = floats(try Data(contentsOf: URL(fileURLWithPath: path("case\(item.index).\(target.rawValue).output"))))
                outcome = compareOutputs(output, item.expected, model: item.model)
            }
            report.outcomes.append((item.name, target, outcome))
        }
    }
    return report
}

/// How far emitted outputs are from the interpreter's, by the rule `convc verify` and the differential tests
/// share: an output differs when it is more than 1e-4 × max(1, max |expected|) away (a NaN where the interpreter
/// has a number counts; equal values, NaNs and infinities included, do not); with a max_unpool, 0.1% of the
/// outputs may differ (an unpool follows its pool's argmax, which rounding can flip on near-ties).
public struct OutputComparison: Sendable, Equatable {
    public var count: Int
    /// max(1, max |finite expected value|).
    public var scale: Float
    /// The largest difference; NaN when some output is NaN and its expected value is not.
    public var worst: Float = 0
    public var differing = 0
    public var allowed: Int
    public var agrees: Bool { differing <= allowed }

    /// Outputs and expected values of the same count.
    public init(_ output: [Float], _ expected: [Float], model: Model) {
        count = output.count
        scale = max(1, expected.lazy.filter(\.isFinite).map(abs).max() ?? 0)
        let unpools = model.layers.contains { if case .maxUnpool = $0.op { true } else { false } }
        allowed = unpools ? output.count / 1000 : 0
        for (actual, wanted) in zip(output, expected) where !(actual == wanted || (actual.isNaN && wanted.isNaN)) {
            let difference = abs(actual - wanted)
            if !(difference <= 1e-4 * scale) { differing += 1 }
            if difference.isNaN || difference > worst { worst = difference.isNaN ? .nan : difference }
        }
    }
}

/// The differential outcome of one model's outputs.
public func compareOutputs(_ output: [Float], _ expected: [Float], model: Model) -> DifferentialOutcome {
    guard output.count == expected.count else {
        return .failed("returned \(output.count) values; the interpreter \(expected.count)")
    }
    let comparison = OutputComparison(output, expected, model: model)
    return comparison.agrees
        ? .agree(worst: comparison.worst)
        : .disagree(differing: comparison.differing, count: comparison.count, worst: comparison.worst)
}

/// A main.swift that runs one model (`models FOLDER INDEX TARGET`): reads its weights and raw float input, runs
/// `predict` on the whole batch, and writes the raw float output.
func runnerSource(_ runs: [(index: Int, target: EmitTarget)], threads: Int) -> String {
    var cases = ""
    for (index, target) in runs {
        let typeName = "Case\(index)\(target.rawValue.capitalized)"
        cases += """
                case ("\(index)", "\(target.rawValue)"):
                    output = try \(typeName)(weights: URL(fileURLWithPath: base + ".safetensors")).predict(input, threads: \(threads))

            """
    }
    return """
        import Foundation

        let arguments = CommandLine.arguments
        let base = arguments[1] + "/case" + arguments[2]
        let bytes = try Data(contentsOf: URL(fileURLWithPath: base + ".input"))
        let input = [Float](unsafeUninitializedCapacity: bytes.count / 4) { buffer, count in
            count = bytes.copyBytes(to: UnsafeMutableRawBufferPointer(buffer)) / 4
        }
        var output: [Float] = []
        switch (arguments[2], arguments[3]) {
        \(cases)default:
            fatalError("no model \\(arguments[2]) for \\(arguments[3])")
        }
        try output.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: base + "." + arguments[3] + ".output"))

        """
}

func floatData(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }

func floats(_ data: Data) -> [Float] {
    [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
        count = data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer)) / 4
    }
}

/// Runs a program and returns its exit status and combined output.
public func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    if executable.contains("/") {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
