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
        if engine.diagnostics.contains(where: { $0.location != nil }) { printErrorCount(path, engine) }
        throw ExitCode(1)
    }
    return model
}

/// Prints `convc: error: <file>: <message>` and exits 1.
func fail(_ message: String) -> ExitCode {
    Progress.clearLine()
    FileHandle.standardError.write(Data("convc: error: \(message)\n".utf8))
    return ExitCode(1)
}

func warn(_ message: String) {
    Progress.clearLine()
    FileHandle.standardError.write(Data("convc: warning: \(message)\n".utf8))
}

func note(_ message: String) {
    Progress.clearLine()
    FileHandle.standardError.write(Data("convc: note: \(message)\n".utf8))
}

/// Reads a weights or array file, with every failure one sentence naming it. Only regular files are read
/// (`/dev/zero` would never end), memory-mapped, so a large file is not copied.
func readTensorFile(_ path: String) throws -> Data {
    do {
        return try mapFile(path)
    } catch let error as ReadError {
        throw fail(error.description)
    }
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try readTensorFile(path)) }

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

/// Refuses an output path that names one of the command's inputs: writing it would replace what is being read.
func requireDistinct(output: String?, from inputs: [String?], option: String) throws {
    guard let output else { return }
    let target = URL(fileURLWithPath: output).resolvingSymlinksInPath().standardizedFileURL.path
    for case let input? in inputs where input != standardInputPath {
        if URL(fileURLWithPath: input).resolvingSymlinksInPath().standardizedFileURL.path == target {
            throw ValidationError("\(option) '\(output)' names an input of this command; choose another file")
        }
    }
}

/// Options of the commands that read a weights file.
struct WeightOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A prefix to read past in the weights file's tensor names (e.g. 'module.' or 'model.').",
            discussion: "Without it, a prefix that every name carries is found by itself when that makes every parameter present."))
    var stripPrefix: String?
}

func loadWeights(_ path: String, for model: Model, prefix: String?) throws -> WeightSet {
    do {
        let weights = try WeightSet(model: model, file: SafeTensorsFile(readTensorFile(path)), prefix: prefix)
        if prefix == nil, !weights.strippedPrefix.isEmpty {
            note("\(path): every tensor name starts with \(SafeTensorsFile.quoted(weights.strippedPrefix)) (saved from nn.DataParallel?); read without it")
        }
        if !weights.unused.isEmpty {
            let shown = weights.unused.prefix(5).map(SafeTensorsFile.quoted).joined(separator: ", ")
            warn("\(path): \(plural(weights.unused.count, "tensor")) not used by the spec: \(shown)\(weights.unused.count > 5 ? ", …" : "")")
        }
        return weights
    } catch let error as TensorFileError {
        throw fail("\(path): \(error)")
    } catch let error as InterpreterError {
        throw fail("\(path): \(error)")
    }
}

/// The input from a .npy file, or a seeded one of batch 1.
func loadInput(_ path: String?, for model: Model, seed: UInt64) throws -> Tensor {
    guard let path else { return seededInput(shape: [1] + model.inputShape.dims, seed: seed) }
    do {
        let stored = try NPY.parse(try readBytes(path))
        return Tensor(shape: stored.shape, values: stored.values)
    } catch let error as TensorFileError {
        throw fail("\(path): \(error)")
    }
}

/// Runs the interpreter; an input that does not fit the spec is one error naming its file.
func runInterpreter(_ interpreter: Interpreter, on input: Tensor, from path: String?) throws -> Tensor {
    do {
        return try interpreter.run(input)
    } catch let error as InterpreterError {
        throw fail("\(path ?? "input"): \(error)")
    }
}

/// Refuses to run when the activations and weights would not fit in this machine's memory, before allocating.
func requireMemory(for model: Model, batch: Int, command: String) throws {
    let activations = memoryPlan(of: model).peakBytes.multipliedReportingOverflow(by: batch)
    // Weights are held as read and again as packed for the kernels.
    let weights = (model.parameterCount + model.nonTrainableParameterCount).multipliedReportingOverflow(by: 8)
    let (total, overflow) = activations.partialValue.addingReportingOverflow(weights.partialValue)
    let available = ProcessInfo.processInfo.physicalMemory
    if activations.overflow || weights.overflow || overflow || UInt64(total) > available {
        let needed = activations.overflow || weights.overflow || overflow ? "more than 2⁶³ bytes" : "about \(bytesText(total))"
        throw fail(
            "\(command) would need \(needed) (weights and activations, batch \(batch)); this machine has \(bytesText(Int(clamping: available)))")
    }
}

func bytesText(_ bytes: Int) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f", value) + " " + units[unit]
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write seeded weights for every parameter a spec declares (.safetensors).",
        discussion: """
            Conv, transposed-conv and dense weights and biases are drawn as PyTorch initialises fresh layers \
            (uniform ±1/√fan_in); batch norm is γ=1, β=0, mean=0, var=1 unless --random-stats. Names and layouts \
            are PyTorch's, so the file can be loaded into the equivalent torch model and vice versa.
            """)

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(name: .shortAndLong, help: "The weights file to write.", completion: .file(extensions: ["safetensors"]))
    var output: String

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(help: "Draw batch-norm γ, β and running statistics at random too, so that folding is exercised.")
    var randomStats = false

    func validate() throws {
        try requireDistinct(output: output, from: [spec], option: "--output")
    }

    func run() throws {
        let model = try requireModel(spec)
        try requireMemory(for: model, batch: 0, command: "writing its weights")
        let progress = Progress("drawing \(grouped(model.parameterCount + model.nonTrainableParameterCount)) weights")
        let tensors = initialWeights(for: model, seed: seed, randomStatistics: randomStats)
        progress.update("writing \(output)")
        try writeAtomically(SafeTensors.serialize(tensors), to: output)
        progress.finish()
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

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(
        help: "Weights (.safetensors) with PyTorch's names and layouts, as `safetensors.torch.save_file(model.state_dict(), …)` writes them; see also `convc init`.",
        completion: .file(extensions: ["safetensors"]))
    var weights: String

    @OptionGroup var weightOptions: WeightOptions

    @Option(help: "Input array (.npy, float32, C order).", completion: .file(extensions: ["npy"]))
    var input: String?

    @Option(name: .shortAndLong, help: "Where to write the output (.npy).", completion: .file(extensions: ["npy"]))
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
        try requireDistinct(output: output, from: [spec, weights, input], option: "--output")
    }

    func run() throws {
        let model = try requireModel(spec)
        try requireMemory(for: model, batch: 1, command: "running '\(model.name)'")
        let weightSet = try loadWeights(weights, for: model, prefix: weightOptions.stripPrefix)
        let tensor = try loadInput(input, for: model, seed: seed)
        if tensor.shape.count == model.inputShape.dims.count + 1, tensor.shape[0] > 1 {
            try requireMemory(for: model, batch: tensor.shape[0], command: "running '\(model.name)'")
        }
        let interpreter = Interpreter(model: model, weights: weightSet, threads: threads)
        let result = try runInterpreter(interpreter, on: tensor, from: input)
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
                // NaN ranks first, as in torch.topk: a NaN output is the news, and `>` alone is no order with NaN.
                let ranked = values.indices.sorted { a, b in
                    let (x, y) = (values[a], values[b])
                    return x.isNaN != y.isNaN ? x.isNaN : (x > y || (x == y && a < b))
                }.prefix(top)
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
            2 FLOPs per multiply-accumulate. Build convc for this machine's vector units and fused \
            multiply-adds: `swift build -c release --product convc -Xswiftc -target-cpu -Xswiftc native \
            -Xswiftc -DCONVC_FMA`.
            """)

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Timed forward passes.")
    var runs: Int = 10

    @Option(help: "Threads per layer.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Weights (.safetensors); seeded weights otherwise.", completion: .file(extensions: ["safetensors"]))
    var weights: String?

    @OptionGroup var weightOptions: WeightOptions

    @Flag(help: "Also print the time of each step (after fusion) in one run, slowest first.")
    var profile = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let model = try requireModel(spec)
        try requireMemory(for: model, batch: 1, command: "running '\(model.name)'")
        let weightSet: WeightSet
        if let weights {
            weightSet = try loadWeights(weights, for: model, prefix: weightOptions.stripPrefix)
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

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    func run() throws {
        print(renderGraph(try requireModel(spec)), terminator: "")
    }
}
