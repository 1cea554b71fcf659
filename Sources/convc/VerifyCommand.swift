// `convc verify`: emit, compile with swiftc, run beside the interpreter, and compare.

import ArgumentParser
import ConvcDifferential
import ConvcIR
import ConvcInterpreter
import ConvcSwiftEmitter
import ConvcTensorIO
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the emitted Swift for a spec compiles and computes what the interpreter computes.",
        discussion: """
            Emits the spec into a temporary folder, compiles it with `swiftc -O -target-cpu native -DCONVC_FMA`, runs it and \
            the interpreter on the same weights and input (seeded, with random batch-norm statistics, unless \
            --weights and --input name your own), and prints the largest difference and both latencies. Exits 1 \
            when an output differs by more than 1e-4 × max(1, max |output|) (for networks with max_unpool, when more than 0.1% do: an unpool \
            follows its pool's argmax, which rounding can flip on near-ties), or when anything fails to compile \
            or run.
            """)

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Seed for the weights and the input.")
    var seed: UInt64 = 0

    @Option(help: "Weights (.safetensors) to compare on, instead of seeded ones.", completion: .file(extensions: ["safetensors"]))
    var weights: String?

    @OptionGroup var weightOptions: WeightOptions

    @Option(help: "Input (.npy, float32, one sample or a batch) to compare on, instead of a seeded one.", completion: .file(extensions: ["npy"]))
    var input: String?

    @Option(help: "Timed runs of each implementation.")
    var runs: Int = 5

    @Option(help: "Threads for both implementations.")
    var threads: Int = 1

    @Option(help: "The Swift compiler to use.")
    var swiftc: String = "swiftc"

    @Option(
        help: ArgumentHelp(
            "Keep the emitted source, the compiled model, the weights and the input in this folder.",
            discussion: "The model then runs as `FOLDER/model WEIGHTS input.npy output.npy THREADS [RUNS [PREFIX]]` and prints its median time.",
            valueName: "folder"),
        completion: .directory)
    var keep: String?

    @Flag(help: "Also print the emitted code's mean time per layer, slowest first.")
    var profile = false

    @Option(help: "The vector registers the convolutions' tiles fit (as for `convc emit`): \(EmitTarget.allValueStrings.joined(separator: " or ")).")
    var target: EmitTarget = .avx2

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let model = try requireModel(spec)
        let folder = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("convc-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

        let progress = Progress("emitting \(model.name)")
        defer { progress.finish() }
        // The user's own weights and input are read (and checked) by the interpreter first, then copied in.
        let weightSet: WeightSet
        if let weights = self.weights {
            weightSet = try loadWeights(weights, for: model, prefix: weightOptions.stripPrefix)
        } else {
            let tensors = initialWeights(for: model, seed: seed, randomStatistics: true)
            var stored: [String: StoredTensor] = [:]
            for (name, tensor) in tensors { stored[name] = tensor }
            weightSet = try WeightSet(model: model, tensors: stored)
        }
        // The compiled model reads the user's file itself, so its loader is checked too.
        let weightsPath = weights ?? path("weights.safetensors")
        if weights == nil {
            let file = SafeTensors.serialize(model.parameters.map { (name: $0.name, tensor: StoredTensor(shape: $0.shape, values: weightSet.values[$0.name]!)) })
            try writeAtomically(file, to: weightsPath)
        }
        let input = try loadInput(self.input, for: model, seed: seed &+ 1)
        let batch = input.shape.count > model.inputShape.dims.count ? input.shape[0] : 1
        try requireMemory(for: model, batch: batch, command: "verifying '\(model.name)'")
        try writeAtomically(NPY.serialize(shape: input.shape, values: input.values), to: path("input.npy"))
        let source = emitSwift(model, options: EmitOptions(sourcePath: portableSourcePath(spec), typeName: "VerifiedModel", access: "internal", target: target, profiling: profile))
        try writeAtomically(Array(source.utf8), to: path("Model.swift"))
        try writeAtomically(Array(harness(runs: runs).utf8), to: path("main.swift"))

        progress.update("compiling \(model.name) with \(swiftc) -O (large networks take a minute)")
        let compileStart = Date()
        let compile = try runProcess(
            swiftc, ["-O", "-target-cpu", "native", "-DCONVC_FMA", path("Model.swift"), path("main.swift"), "-o", path("model")])
        guard compile.status == 0 else {
            throw fail("the emitted Swift for '\(spec)' does not compile:\n\(compile.output)")
        }
        let compileSeconds = Date().timeIntervalSince(compileStart)
        progress.update("running the compiled \(model.name)")
        let execution = try runProcess(
            path("model"), [weightsPath, path("input.npy"), path("output.npy"), String(threads), String(runs), weightSet.strippedPrefix])
        guard execution.status == 0 else {
            throw fail("the compiled model failed (exit status \(execution.status)):\n\(execution.output)")
        }
        let emittedMilliseconds = Double(execution.output.split(whereSeparator: \.isWhitespace).first ?? "") ?? .nan
        let emitted = try NPY.parse(readBytes(path("output.npy"))).values

        progress.update("running the interpreter")
        let interpreter = Interpreter(model: model, weights: weightSet, threads: threads)
        var expected = try runInterpreter(interpreter, on: input, from: self.input)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = Date()
            expected = try interpreter.run(input)
            times.append(Date().timeIntervalSince(start) * 1000)
        }
        let interpreterMilliseconds = times.sorted()[times.count / 2]
        progress.finish()
        if profile { print(execution.output.split(separator: "\n").dropFirst().joined(separator: "\n")) }

        guard emitted.count == expected.values.count else {
            throw fail("the compiled model returned \(emitted.count) values; the interpreter \(expected.values.count)")
        }
        let comparison = OutputComparison(emitted, expected.values, model: model)
        let (worst, scale, differing) = (comparison.worst, comparison.scale, comparison.differing)
        print("\(model.name): compiled in \(String(format: "%.1f", compileSeconds)) s")
        print("max abs difference \(format(worst)) (\(format(worst / scale)) of max(1, max |output|) = \(format(scale))), \(differing) of \(emitted.count) outputs beyond 1e-4 of it")
        print("latency (\(threads) thread\(threads == 1 ? "" : "s"), batch 1, median of \(runs)): emitted \(String(format: "%.3f", emittedMilliseconds)) ms, interpreter \(String(format: "%.3f", interpreterMilliseconds)) ms")
        guard comparison.agrees else {
            throw fail("the emitted code and the interpreter disagree on \(differing) outputs (tolerance 1e-4 × \(format(scale)))")
        }
        print("agree")
    }

    /// A main.swift that loads the weights and input, runs the model (any batch) and writes the output; the timed
    /// runs are batch 1. Every failure is one line and exit status 1.
    func harness(runs: Int) -> String {
        """
        import Foundation

        func stop(_ message: String) -> Never {
            FileHandle.standardError.write(Data((message + "\\n").utf8))
            exit(1)
        }

        // convc's own .npy reader and writer, on stand-ins for the two types it uses.
        public struct StoredTensor {
            public var shape: [Int]
            public var values: [Float]
            public var storedType: String
        }

        struct TensorFileError: Error, CustomStringConvertible {
            var description: String
            init(_ description: String) { self.description = description }
        }

        \(npySource)

        func readArray(_ path: String) -> [Float] {
            guard let bytes = try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) else { stop("cannot read \\(path)") }
            do {
                return try NPY.parse(bytes).values
            } catch {
                stop("\\(path): \\(error)")
            }
        }

        let arguments = CommandLine.arguments
        guard arguments.count >= 5 else { stop("usage: model WEIGHTS INPUT OUTPUT THREADS [RUNS [PREFIX]]") }
        let model: VerifiedModel
        do {
            model = try VerifiedModel(weights: URL(fileURLWithPath: arguments[1]), stripPrefix: arguments.count > 6 ? arguments[6] : nil)
        } catch {
            stop("\\(arguments[1]): \\(error)")
        }
        let input = readArray(arguments[2])
        let threads = Int(arguments[4]) ?? 1
        let runs = arguments.count > 5 ? max(1, Int(arguments[5]) ?? 1) : \(runs)
        let output: [Float]
        do {
            output = try model.predict(input, threads: threads)
        } catch {
            stop("\\(arguments[2]): \\(error)")
        }
        // Timed: the allocation-free forward pass of the first sample, with the arena allocated once, as a
        // service would run it; it must give what predict gave for that sample.
        let arena = VerifiedModel.AlignedFloats(count: VerifiedModel.arenaFloats)
        var timed = [Float](repeating: 0, count: VerifiedModel.outputCount)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = Date()
            input.withUnsafeBufferPointer { x in timed.withUnsafeMutableBufferPointer { y in
                model.predict(x.baseAddress!, batch: 1, into: y.baseAddress!, arena: arena.pointer, threads: threads)
            } }
            times.append(Date().timeIntervalSince(start) * 1000)
        }
        guard timed[...] == output.prefix(VerifiedModel.outputCount) else {
            stop("the allocation-free forward pass differs from predict(_:threads:)")
        }
        let bytes = NPY.serialize(shape: [output.count / VerifiedModel.outputCount] + VerifiedModel.outputShape, values: output)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: arguments[3]))
        } catch {
            stop("cannot write \\(arguments[3]): \\(error)")
        }
        print(times.sorted()[times.count / 2], "ms")
        \(profile ? profileReport : "")
        """
    }
}

/// Swift that prints the profiled steps' times, slowest first, as milliseconds per run and shares.
let profileReport = """
    let total = VerifiedModel.stepNanoseconds.reduce(0) { $0 + $1.nanoseconds }
    for step in VerifiedModel.stepNanoseconds.sorted(by: { $0.nanoseconds > $1.nanoseconds }) {
        let milliseconds = Double(step.nanoseconds) / 1e6 / Double(times.count + 1)
        print(String(format: "%9.3f ms %5.1f%%  ", milliseconds, 100 * Double(step.nanoseconds) / Double(max(total, 1))) + step.name)
    }
    """

/// Runs a program and returns its exit status and combined output; a program that cannot start is a failure
/// naming it.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    do {
        return try ConvcDifferential.runProcess(executable, arguments)
    } catch {
        throw fail("cannot run '\(executable)': \(error.localizedDescription)")
    }
}
