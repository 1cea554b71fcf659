// What a new user meets first: PyTorch's own files, standard input, outputs that would overwrite an input, files
// that are not files, and specs too large for the machine. Each answer is one clear message and an exit status.

import Foundation
import Testing

/// The float32 values of a .npy file as convc and NumPy write it (version 1 header, little-endian).
func npyValues(_ url: URL) throws -> [Float] {
    let bytes = [UInt8](try Data(contentsOf: url))
    let start = 10 + (Int(bytes[8]) | Int(bytes[9]) << 8)
    return stride(from: start, to: bytes.count, by: 4).map { i in
        Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
    }
}

/// A safetensors file of F32 tensors, written by hand.
func safetensorsFile(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> Data {
    var entries: [String] = []
    var data: [UInt8] = []
    for tensor in tensors {
        let bytes = tensor.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let name = tensor.name.replacingOccurrences(of: "\u{1B}", with: "\\u001b")  // JSON escapes control characters
        entries.append(#""\#(name)":{"dtype":"F32","shape":[\#(tensor.shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(data.count),\#(data.count + bytes.count)]}"#)
        data += bytes
    }
    let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    return Data((0..<8).map { UInt8((header.count >> (8 * $0)) & 0xFF) } + header + data)
}

@Suite final class InputHandling {
    let work = temporaryFolder("convc-input")
    let pytorch = packageRoot.appendingPathComponent("Tests/Fixtures/pytorch")

    deinit { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }
    func fixture(_ name: String) -> String { pytorch.appendingPathComponent(name).path }

    @Test func aStateDictAsPyTorchSavesItRunsAndMatchesPyTorch() throws {
        // tools/pytorch_reference.py fixture: torchvision BasicBlocks, I64 num_batches_tracked tensors included.
        let expected = try npyValues(pytorch.appendingPathComponent("output.npy"))
        for weights in ["tiny_resnet.safetensors", "tiny_resnet_dataparallel.safetensors"] {
            let run = try convc(
                "run", fixture("tiny_resnet.yaml"), "--weights", fixture(weights), "--input", fixture("input.npy"),
                "-o", path(weights + ".npy"))
            #expect(run.status == 0, "\(run.stderr)")
            let actual = try npyValues(work.appendingPathComponent(weights + ".npy"))
            #expect(actual.count == 20 && expected.count == 20)
            #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(weights)")
            #expect(!run.stderr.contains("warning"), "num_batches_tracked is not worth a warning: \(run.stderr)")
        }
    }

    @Test func theEmittedFileReadsTheSameStateDictAndMatchesPyTorch() throws {
        let run = try convc(
            "verify", fixture("tiny_resnet.yaml"), "--weights", fixture("tiny_resnet_dataparallel.safetensors"),
            "--input", fixture("input.npy"), "--runs", "1", "--keep", path("kept"))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("0 of 20 outputs beyond 1e-4"))
        #expect(run.stderr.contains("every tensor name starts with 'module.'"))
        #expect(!run.stderr.contains("\r"), "the progress line is for terminals only")
        // The compiled model read the DataParallel file itself; its output is PyTorch's.
        let emitted = try npyValues(work.appendingPathComponent("kept/output.npy"))
        let expected = try npyValues(pytorch.appendingPathComponent("output.npy"))
        #expect(emitted.count == 20 && zip(emitted, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
    }

    @Test func aDashReadsTheSpecFromStandardInput() throws {
        let spec = try String(contentsOf: packageRoot.appendingPathComponent("specs/lenet5.yaml"), encoding: .utf8)
        let check = try convc(["check", "-"], standardInput: spec)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout == "<stdin>: lenet5: 1×32×32 → 10, 61,706 params, 416,520 MACs, 12 layers\n")
        let broken = try convc(["check", "-"], standardInput: "input: [1, 8, 8]\nlayers:\n  - conv: { filters: 2 }\n")
        #expect(broken.status == 1)
        #expect(broken.stderr.hasPrefix("<stdin>:3:5: error: "))
    }

    @Test func summaryPrintsTheTableWhenOnlyAnExpectedFigureDisagrees() throws {
        let spec = """
            input: [1, 8, 8]
            expect: { params: 21 }
            layers:
              - conv: { name: c, filters: 2, kernel: 3, padding: 1 }
              - conv: { name: d, filters: 1, kernel: 3, stride: 2 }
            """
        let run = try convc(["summary", "-"], standardInput: spec)
        #expect(run.status == 1)
        #expect(run.stdout.contains("c") && run.stdout.contains("2×8×8"), "\(run.stdout)")
        #expect(run.stderr.contains("error: expected 21 parameters, computed 39"), "\(run.stderr)")
        // The closing line counts what check counts: the warning for the pixels stride 2 drops too.
        #expect(run.stderr.hasSuffix("<stdin>: 1 error, 1 warning\n"), "\(run.stderr)")
        let check = try convc(["check", "-"], standardInput: spec)
        #expect(check.stderr.hasSuffix("<stdin>: 1 error, 1 warning\n"))
    }

    @Test func anOutputThatNamesAnInputIsRefusedAndTheInputKept() throws {
        let spec = path("lenet5.yaml")
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("specs/lenet5.yaml").path, toPath: spec)
        let before = try Data(contentsOf: URL(fileURLWithPath: spec))
        let emit = try convc("emit", spec, "-o", spec)
        #expect(emit.status == 64)
        #expect(emit.stderr.contains("--output '\(spec)' names an input of this command; choose another file"))
        let initRun = try convc("init", spec, "-o", work.appendingPathComponent("./lenet5.yaml").path)
        #expect(initRun.status == 64)
        _ = try convc("init", spec, "-o", path("w.safetensors"))
        let run = try convc("run", spec, "--weights", path("w.safetensors"), "-o", path("w.safetensors"))
        #expect(run.status == 64)
        #expect(try Data(contentsOf: URL(fileURLWithPath: spec)) == before)
    }

    @Test func devicesAreNotReadAsSpecsWeightsOrInputs() throws {
        _ = try convc("init", "specs/lenet5.yaml", "-o", path("w.safetensors"))
        let weights = try convc("run", "specs/lenet5.yaml", "--weights", "/dev/zero")
        #expect(weights.status == 1)
        #expect(weights.stderr == "convc: error: cannot read '/dev/zero': it is not a regular file\n")
        let input = try convc("run", "specs/lenet5.yaml", "--weights", path("w.safetensors"), "--input", "/dev/zero")
        #expect(input.stderr == "convc: error: cannot read '/dev/zero': it is not a regular file\n")
        let spec = try convc("check", "/dev/zero")
        #expect(spec.status == 1)
        #expect(spec.stderr == "convc: error: cannot read '/dev/zero': it is a device, not a file\n", "\(spec.stderr)")
    }

    @Test func aNetworkTooLargeForTheMachineIsRefusedBeforeAllocating() throws {
        try safetensorsFile([]).write(to: URL(fileURLWithPath: path("none.safetensors")))
        let spec = "input: [1, 1048576, 1048576]\nlayers:\n  - relu\n"
        let run = try convc(["run", "-", "--weights", path("none.safetensors")], standardInput: spec)
        #expect(run.status == 1)
        // Input and output, 2^40 floats each: 8.8 TB.
        #expect(run.stderr.hasPrefix("convc: error: running 'model' would need about 8.8 TB (weights and activations, batch 1); this machine has "), "\(run.stderr)")
    }

    @Test func aNaNOutputRanksFirstAndNamesArePrintedEscaped() throws {
        try safetensorsFile([
            ("fc.weight", [3, 2], [1, 0, 0, 1, 1, 1]), ("fc.bias", [3], [.nan, 0, 0]),
            ("\u{1B}[31mred", [1], [0]),
        ]).write(to: URL(fileURLWithPath: path("nan.safetensors")))
        try NPYFile.write([2, 3], to: path("x.npy"))
        let spec = "input: [2]\nlayers:\n  - dense: { name: fc, units: 3 }\n"
        let run = try convc(["run", "-", "--weights", path("nan.safetensors"), "--input", path("x.npy")], standardInput: spec)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "output: 1×3\ntop 3: 0: nan, 2: 5, 1: 3\n")
        #expect(run.stderr.contains("1 tensor not used by the spec: '\\u{1b}[31mred'"), "\(run.stderr)")
    }

    @Test func emittedFilesNameTheSpecWithoutTheUsersFolders() throws {
        let inside = try convc("emit", packageRoot.appendingPathComponent("specs/lenet5.yaml").path)
        #expect(inside.stdout.hasPrefix("// DO NOT EDIT. Generated by convc from specs/lenet5.yaml.\n"))
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("specs/lenet5.yaml").path, toPath: path("net.yaml"))
        let outside = try convc("emit", path("net.yaml"))
        #expect(outside.stdout.hasPrefix("// DO NOT EDIT. Generated by convc from net.yaml.\n"))
        #expect(!outside.stdout.contains(work.path))
    }
}

/// Writes a float32 .npy of shape [count] (version 1, C order).
enum NPYFile {
    static func write(_ values: [Float], to path: String) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(values.count),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
            + values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
