// `convc init`, `convc run`, `convc bench` and `convc export`: the commands that execute or hand on a network.

import ArgumentParser
import ConvcDiagnostics
import ConvcFrontend
import ConvcIR
import ConvcInterpreter
import ConvcReport
import ConvcTensorIO
import Foundation

/// Loads a spec that must be sound, or prints its diagnostics and exits 1.
func requireModel(_ path: String, strict: Bool = false) throws -> Model {
    let (model, engine) = loadModel(path: path, strict: strict)
    printDiagnostics(engine)
    guard let model, !engine.hasErrors else {
        if engine.diagnostics.contains(where: { $0.location != nil }) {
            FileHandle.standardError.write(Data("\(path): \(plural(engine.errorCount, "error"))\n".utf8))
        }
        throw ExitCode(1)
    }
    return model
}

/// Prints `convc: error: <file>: <message>` and exits 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("convc: error: \(message)\n".utf8))
    return ExitCode(1)
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("convc: warning: \(message)\n".utf8))
}

/// Reads a whole file, with the failure as one sentence naming it.
func readBytes(_ path: String) throws -> [UInt8] {
    do {
        return [UInt8](try readFile(path))
    } catch let error as ReadError {
        throw fail(error.description)
    }
}

/// Writes a file atomically: the bytes go to a temporary file beside it, renamed into place only when complete,
/// so a failure never leaves half an output where the user's file was.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw fail("cannot write '\(path)': it is a directory")
    }
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw fail("cannot write '\(path)': \(error.localizedDescription)")
    }
}

func loadWeights(_ path: String, for model: Model) throws -> WeightSet {
    let bytes = try readBytes(path)
    do {
        let weights = try WeightSet(model: model, tensors: SafeTensors.parse(bytes))
        if !weights.unused.isEmpty {
            let shown = weights.unused.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            warn("\(path): \(plural(weights.unused.count, "tensor")) not used by the spec: \(shown)\(weights.unused.count > 5 ? ", …" : "")")
        }
        return weights
    } catch let error as TensorFileError {
        throw fail("\(path): \(error)")
    } catch let error as InterpreterError {
        throw fail("\(path): \(error)")
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write seeded weights for every parameter a spec declares (.safetensors).",
        discussion: """
            Conv, transposed-conv and dense weights and biases are drawn as PyTorch initialises fresh layers \
            (uniform ±1/√fan_in); batch norm is γ=1, β=0, mean=0, var=1 unless --random-stats. Names and layouts \
            are PyTorch's, so the file can be loaded into the equivalent torch model and vice versa.
            """)

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(name: .shortAndLong, help: "The weights file to write.")
    var output: String

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(help: "Draw batch-norm γ, β and running statistics at random too, so that folding is exercised.")
    var randomStats = false

    func run() throws {
        let model = try requireModel(spec)
        let tensors = initialWeights(for: model, seed: seed, randomStatistics: randomStats)
        try writeAtomically(SafeTensors.serialize(tensors), to: output)
        let count = tensors.reduce(0) { $0 + $1.tensor.values.count }
        print("\(output): \(plural(tensors.count, "tensor")), \(grouped(count)) values (seed \(seed))")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a spec on weights and an input, with PyTorch's inference semantics.",
        discussion: """
            The input is a float32 .npy array of shape [C, H, W] or [N, C, H, W]; without --input a seeded \
            uniform input is used. Prints the output shape and the top classes (or a summary of a spatial \
            output), and writes the output as .npy with --output.
            """)

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Weights (.safetensors) with PyTorch's names and layouts; see `convc init`.")
    var weights: String

    @Option(help: "Input array (.npy, float32, C order).")
    var input: String?

    @Option(name: .shortAndLong, help: "Where to write the output (.npy).")
    var output: String?

    @Option(help: "How many classes to list for a flat output.")
    var top: Int = 5

    @Option(help: "Seed for the input when --input is not given.")
    var seed: UInt64 = 0

    @Option(help: "Threads per layer.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let model = try requireModel(spec)
        let weightSet = try loadWeights(weights, for: model)
        let tensor: Tensor
        if let input {
            do {
                let stored = try NPY.parse(try readBytes(input))
                tensor = Tensor(shape: stored.shape, values: stored.values)
            } catch let error as TensorFileError {
                throw fail("\(input): \(error)")
            }
        } else {
            tensor = seededInput(shape: [1] + model.inputShape.dims, seed: seed)
        }
        let interpreter = Interpreter(model: model, weights: weightSet, threads: threads)
        let result: Tensor
        do {
            result = try interpreter.run(tensor)
        } catch let error as InterpreterError {
            throw fail("\(input ?? "input"): \(error)")
        }
        print("output: \(result.shape.map(String.init).joined(separator: "×"))")
        printOutputSummary(result, top: top)
        if let output {
            try writeAtomically(NPY.serialize(shape: result.shape, values: result.values), to: output)
            print("wrote \(output)")
        }
    }

    func printOutputSummary(_ result: Tensor, top: Int) {
        let batch = result.shape[0]
        let perSample = result.values.count / batch
        for n in 0..<batch {
            let values = result.values[(n * perSample)..<((n + 1) * perSample)]
            let prefix = batch > 1 ? "[\(n)] " : ""
            if result.shape.count == 2 {
                let ranked = values.indices.sorted { values[$0] > values[$1] }.prefix(top)
                let text = ranked.map { "\($0 - n * perSample): \(format(values[$0]))" }.joined(separator: ", ")
                if top > 0 { print("\(prefix)top \(min(top, perSample)): \(text)") }
            } else {
                let minimum = values.min() ?? 0, maximum = values.max() ?? 0
                let mean = values.reduce(0, +) / Float(max(1, values.count))
                print("\(prefix)min \(format(minimum)), max \(format(maximum)), mean \(format(mean))")
            }
        }
    }
}

func format(_ value: Float) -> String { String(format: "%.6g", Double(value)) }

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the interpreter on a spec: median latency per forward pass and GFLOP/s.",
        discussion: """
            Uses seeded weights unless --weights is given, batch 1, after two warm-up runs. GFLOP/s counts \
            2 FLOPs per multiply-accumulate. Build with `swift build -c release -Xswiftc -target-cpu \
            -Xswiftc native` for the vector units of this machine.
            """)

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Timed forward passes.")
    var runs: Int = 10

    @Option(help: "Threads per layer.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Weights (.safetensors); seeded weights otherwise.")
    var weights: String?

    @Flag(help: "Also print the time of each step (after fusion) in one run, slowest first.")
    var profile = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let model = try requireModel(spec)
        let weightSet: WeightSet
        if let weights {
            weightSet = try loadWeights(weights, for: model)
        } else {
            var tensors: [String: StoredTensor] = [:]
            for (name, tensor) in initialWeights(for: model, seed: 0) { tensors[name] = tensor }
            weightSet = try WeightSet(model: model, tensors: tensors)
        }
        let interpreter = Interpreter(model: model, weights: weightSet, threads: threads)
        let input = seededInput(shape: [1] + model.inputShape.dims, seed: 0)
        for _ in 0..<2 { _ = try interpreter.run(input) }
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try interpreter.run(input)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        if profile {
            let timings = try interpreter.profile(input)
            let total = timings.reduce(0) { $0 + $1.milliseconds }
            for (layer, ms) in timings.sorted(by: { $0.milliseconds > $1.milliseconds }).prefix(25) {
                print(String(format: "%9.3f ms %5.1f%%  ", ms, 100 * ms / total) + layer)
            }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let gflops = 2 * Double(model.macs) / (median / 1000) / 1e9
        print(
            "\(model.name): median \(String(format: "%.3f", median)) ms over \(runs) runs (min \(String(format: "%.3f", times[0])) ms), "
                + "\(String(format: "%.1f", gflops)) GFLOP/s, \(threads) thread\(threads == 1 ? "" : "s")")
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the checked model as a JSON graph (ops, attributes, inputs, parameter names).",
        discussion: "tools/onnx_reference.py builds the same network in ONNX from this graph.")

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    func run() throws {
        print(renderGraph(try requireModel(spec)), terminator: "")
    }
}
