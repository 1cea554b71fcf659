// `convc verify`: emit, compile with swiftc, run beside the interpreter, and compare.

import ArgumentParser
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
            the interpreter on the same seeded weights (random batch-norm statistics) and input, and prints the \
            maximum absolute and relative difference and both latencies. Exits 1 when an output differs by more \
            than 1e-4 × max(1, max |output|) (for networks with max_unpool, when more than 0.1% do: an unpool \
            follows its pool's argmax, which rounding can flip on near-ties), or when anything fails to compile \
            or run.
            """)

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Seed for the weights and the input.")
    var seed: UInt64 = 0

    @Option(help: "Timed runs of each implementation.")
    var runs: Int = 5

    @Option(help: "Threads for both implementations.")
    var threads: Int = 1

    @Option(help: "The Swift compiler to use.")
    var swiftc: String = "swiftc"

    @Option(
        help: ArgumentHelp(
            "Keep the emitted source, the compiled model, the weights and the input in this folder.",
            discussion: "The model then runs as `FOLDER/model weights.safetensors input.npy output.npy THREADS [RUNS]` and prints its median time.",
            valueName: "folder"))
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

        let tensors = initialWeights(for: model, seed: seed, randomStatistics: true)
        try writeAtomically(SafeTensors.serialize(tensors), to: path("weights.safetensors"))
        let input = seededInput(shape: [1] + model.inputShape.dims, seed: seed &+ 1)
        try writeAtomically(NPY.serialize(shape: input.shape, values: input.values), to: path("input.npy"))
        let source = emitSwift(model, options: EmitOptions(sourcePath: spec, typeName: "VerifiedModel", access: "internal", target: target, profiling: profile))
        try writeAtomically(Array(source.utf8), to: path("Model.swift"))
        try writeAtomically(Array(harness(runs: runs).utf8), to: path("main.swift"))

        let compileStart = Date()
        let compile = try runProcess(
            swiftc, ["-O", "-target-cpu", "native", "-DCONVC_FMA", path("Model.swift"), path("main.swift"), "-o", path("model")])
        guard compile.status == 0 else {
            throw fail("the emitted Swift for '\(spec)' does not compile:\n\(compile.output)")
        }
        let compileSeconds = Date().timeIntervalSince(compileStart)
        let execution = try runProcess(
            path("model"), [path("weights.safetensors"), path("input.npy"), path("output.npy"), String(threads)])
        guard execution.status == 0 else {
            throw fail("the compiled model failed (exit status \(execution.status)):\n\(execution.output)")
        }
        let emittedMilliseconds = Double(execution.output.split(whereSeparator: \.isWhitespace).first ?? "") ?? .nan
        if profile { print(execution.output.split(separator: "\n").dropFirst().joined(separator: "\n")) }
        let emitted = try NPY.parse(readBytes(path("output.npy"))).values

        var stored: [String: StoredTensor] = [:]
        for (name, tensor) in tensors { stored[name] = tensor }
        let interpreter = Interpreter(model: model, weights: try WeightSet(model: model, tensors: stored), threads: threads)
        var expected = try interpreter.run(input)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = Date()
            expected = try interpreter.run(input)
            times.append(Date().timeIntervalSince(start) * 1000)
        }
        let interpreterMilliseconds = times.sorted()[times.count / 2]

        guard emitted.count == expected.values.count else {
            throw fail("the compiled model returned \(emitted.count) values; the interpreter \(expected.values.count)")
        }
        let scale = max(1, expected.values.map(abs).max() ?? 0)
        var worst: Float = 0
        var differing = 0
        for i in emitted.indices {
            let difference = abs(emitted[i] - expected.values[i])
            worst = max(worst, difference)
            if difference > 1e-4 * scale { differing += 1 }
        }
        let unpools = model.layers.contains { if case .maxUnpool = $0.op { true } else { false } }
        let allowed = unpools ? emitted.count / 1000 : 0
        print("\(model.name): compiled in \(String(format: "%.1f", compileSeconds)) s")
        print("max abs difference \(format(worst)), max rel difference \(format(worst / scale)), \(differing) of \(emitted.count) outputs beyond 1e-4")
        print("latency (\(threads) thread\(threads == 1 ? "" : "s"), batch 1, median of \(runs)): emitted \(String(format: "%.3f", emittedMilliseconds)) ms, interpreter \(String(format: "%.3f", interpreterMilliseconds)) ms")
        guard differing <= allowed else {
            throw fail("the emitted code and the interpreter disagree on \(differing) outputs (tolerance 1e-4 × \(format(scale)))")
        }
        print("agree")
    }

    /// A main.swift that loads the weights and input, runs the model `runs` times and writes the output.
    func harness(runs: Int) -> String {
        """
        import Foundation

        // Reads a float32 .npy (version 1, C order) written by convc.
        func readArray(_ path: String) throws -> [Float] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            let start = 10 + headerLength
            return (0..<((bytes.count - start) / 4)).map { i in
                Float(bitPattern: UInt32(bytes[start + 4 * i]) | UInt32(bytes[start + 4 * i + 1]) << 8
                    | UInt32(bytes[start + 4 * i + 2]) << 16 | UInt32(bytes[start + 4 * i + 3]) << 24)
            }
        }

        let arguments = CommandLine.arguments
        let model = try VerifiedModel(weights: URL(fileURLWithPath: arguments[1]))
        let input = try readArray(arguments[2])
        let threads = Int(arguments[4]) ?? 1
        let runs = arguments.count > 5 ? max(1, Int(arguments[5]) ?? 1) : \(runs)
        let output = try model.predict(input, threads: threads)
        // Timed: the allocation-free forward pass with the arena allocated once, as a service would run it.
        let arena = VerifiedModel.AlignedFloats(count: VerifiedModel.arenaFloats)
        var timed = [Float](repeating: 0, count: output.count)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = Date()
            input.withUnsafeBufferPointer { x in timed.withUnsafeMutableBufferPointer { y in
                model.predict(x.baseAddress!, batch: 1, into: y.baseAddress!, arena: arena.pointer, threads: threads)
            } }
            times.append(Date().timeIntervalSince(start) * 1000)
        }
        guard timed == output else {
            print("the allocation-free forward pass differs from predict(_:threads:)")
            exit(1)
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\\(output.count),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value in output { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: arguments[3]))
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

/// Runs a program and returns its exit status and combined output.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
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
    do {
        try process.run()
    } catch {
        throw fail("cannot run '\(executable)': \(error.localizedDescription)")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
