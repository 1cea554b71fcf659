// Weights and arrays: round trips, conversions, and one clear error for each kind of damaged file.

import ConvcIR
import ConvcInterpreter
import ConvcTensorIO
import Foundation
import Testing

/// A safetensors file written by hand: header JSON and data bytes.
func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
    let json = Array(header.utf8)
    var bytes: [UInt8] = []
    var length = UInt64(json.count)
    for _ in 0..<8 {
        bytes.append(UInt8(length & 0xFF))
        length >>= 8
    }
    return bytes + json + data
}

func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

/// A safetensors file laid out as PyTorch writes one: tensors of any dtype, back to back, in the given order.
func stateDict(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])], metadata: String = "") -> [UInt8] {
    var offset = 0
    var fields: [String] = metadata.isEmpty ? [] : [#""__metadata__":"# + metadata]
    for tensor in tensors {
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        fields.append(#""\#(tensor.name)":{"dtype":"\#(tensor.dtype)","shape":[\#(shape)],"data_offsets":[\#(offset),\#(offset + tensor.data.count)]}"#)
        offset += tensor.data.count
    }
    return safetensors("{" + fields.joined(separator: ",") + "}", data: tensors.flatMap(\.data))
}

func int64Bytes(_ values: [Int64]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

func floats(_ file: SafeTensorsFile, _ name: String) throws -> [Float] { try file.floats(name, shape: file.shape(of: name)!) }

@Suite struct SafeTensorFiles {
    @Test func roundTripKeepsNamesShapesAndValues() throws {
        let tensors = [
            (name: "conv1.weight", tensor: StoredTensor(shape: [2, 1, 1, 2], values: [1, -2, 3.5, 4])),
            (name: "conv1.bias", tensor: StoredTensor(shape: [2], values: [0.25, -0.5])),
        ]
        let file = try SafeTensorsFile(SafeTensors.serialize(tensors))
        #expect(file.names == ["conv1.bias", "conv1.weight"])
        #expect(file.shape(of: "conv1.weight") == [2, 1, 1, 2])
        #expect(try floats(file, "conv1.weight") == [1, -2, 3.5, 4])
        #expect(try floats(file, "conv1.bias") == [0.25, -0.5])
    }

    @Test func halfBFloat16AndFloat8AreConverted() throws {
        // F16 0x3C00 = 1, 0xC000 = -2, 0x0001 = 2^-24; BF16 0x3F80 = 1, 0xC040 = -3;
        // F8_E5M2 0x3C = 1, 0xC2 = -3; F8_E4M3 0x38 = 1, 0xD4 = -0.5 · 2^3 · 1.5 = -12, 0x7F = NaN, 0x01 = 2^-9
        let file = try SafeTensorsFile(stateDict([
            ("h", "F16", [3], [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00]),
            ("b", "BF16", [2], [0x80, 0x3F, 0x40, 0xC0]),
            ("e5", "F8_E5M2", [2], [0x3C, 0xC2]),
            ("e4", "F8_E4M3", [4], [0x38, 0xD4, 0x7F, 0x01]),
            ("d", "F64", [1], withUnsafeBytes(of: (-0.75 as Double).bitPattern.littleEndian, Array.init)),
        ]))
        #expect(try floats(file, "h") == [1, -2, Float(1) / 16_777_216])
        #expect(try floats(file, "b") == [1, -3])
        #expect(try floats(file, "e5") == [1, -3])
        let e4 = try floats(file, "e4")
        #expect(e4[0] == 1 && e4[1] == -12 && e4[2].isNaN && e4[3] == 0x1p-9)
        #expect(try floats(file, "d") == [-0.75])
    }

    @Test func everyDtypeAStateDictHoldsIsReadAndIntegersAreRefusedAsParameters() throws {
        let file = try SafeTensorsFile(stateDict([
            ("bn.num_batches_tracked", "I64", [], int64Bytes([1])),
            ("mask", "BOOL", [3], [1, 0, 1]),
            ("ids", "I32", [2], [1, 0, 0, 0, 2, 0, 0, 0]),
            ("q", "I8", [2], [0xFF, 1]), ("u", "U8", [1], [7]), ("s", "I16", [1], [1, 0]),
            ("w", "F32", [2], floatBytes([0.5, 2])),
        ], metadata: #"{"format":"pt"}"#))
        #expect(file.dtype(of: "bn.num_batches_tracked") == "I64")
        #expect(file.shape(of: "bn.num_batches_tracked") == [])
        #expect(try floats(file, "w") == [0.5, 2])
        #expect(throws: TensorFileError("tensor 'ids' has dtype I32; a parameter is read from a floating-point tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2)")) {
            try floats(file, "ids")
        }
    }

    @Test(arguments: [
        (safetensors("{}").prefix(5).map { $0 }, "the file is 5 bytes long; a safetensors file starts with an 8-byte header length"),
        ([200, 0, 0, 0, 0, 0, 0, 0, 123, 125], "the header length 200 runs past the end of the file (10 bytes)"),
        ([0, 0, 0, 0, 0, 0, 0, 0x80, 123, 125], "the header length 9223372036854775808 is larger than the 100 MB safetensors allows"),
        (safetensors("{not json"), "the header is not valid JSON"),
        (safetensors("[1, 2]"), "the header is not a JSON object"),
        (safetensors("{} x"), "the header has text after its JSON object"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has data_offsets [0, 16] outside the 8 data bytes"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has data_offsets [9223372036854775800, 9223372036854775807] outside the 8 data bytes"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has invalid data_offsets"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has shape [3] of F32 (3 × 4 bytes) but data_offsets span 8 bytes"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has an impossibly large shape [4294967296, 4294967296, 4]"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has an invalid shape"),
        (safetensors(#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has an unknown dtype 'Q4'"),
        (safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: floatBytes([1, 2])),
         "tensors 'a' and 'b' overlap in the data"),
        (safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'a' starts at data byte 4, but the tensors before it end at 0; the data has a gap"),
        (safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: floatBytes([1, 2])),
         "the file has 4 bytes after the last tensor's data"),
        (safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: floatBytes([1, 2])),
         "the header names tensor 'a' twice"),
        (safetensors(#"{"__metadata__":{"n":1}}"#), "the header's '__metadata__' maps names to strings only"),
        (safetensors(#"{"w":{"dtype":"F32"}}"#), "tensor 'w' needs 'dtype', 'shape' and two 'data_offsets' in the header"),
        (safetensors(#"{"\u001b[2J":{"dtype":"F32"}}"#), "tensor '\\u{1b}[2J' needs 'dtype', 'shape' and two 'data_offsets' in the header"),
        (safetensors(String(repeating: "[", count: 70)), "the header is not a JSON object"),
        (safetensors(#"{"w":{"x":"# + String(repeating: "[", count: 70) + "}}"), "the header nests more than 64 levels deep"),
    ])
    func damagedFilesGiveOneClearError(bytes: [UInt8], message: String) {
        #expect(throws: TensorFileError(message)) { try SafeTensorsFile(bytes) }
    }

    @Test func invalidUTF8InANameIsRefused() {
        // The header length says 6: {"\xFF":
        var bytes = safetensors(#"{"x":1}"#)
        bytes[10] = 0xFF
        #expect(throws: TensorFileError("the header is not UTF-8 text")) { try SafeTensorsFile(bytes) }
    }

    @Test func aPrefixEveryNameCarriesIsFoundOnlyWhenItMakesEveryNamePresent() throws {
        let file = try SafeTensorsFile(stateDict([
            ("module.conv.weight", "F32", [1], floatBytes([1])), ("module.fc.bias", "F32", [1], floatBytes([2])),
        ]))
        #expect(file.namePrefix(for: ["conv.weight", "fc.bias"]) == "module.")
        #expect(file.namePrefix(for: ["module.conv.weight"]) == "")
        #expect(file.namePrefix(for: ["conv.weight", "fc.weight"]) == nil)
        let mixed = try SafeTensorsFile(stateDict([
            ("model.conv.weight", "F32", [1], floatBytes([1])), ("optimizer.step", "I64", [], int64Bytes([3])),
        ]))
        #expect(mixed.namePrefix(for: ["conv.weight"]) == nil)
    }

    @Test func randomlyDamagedFilesNeverCrash() throws {
        let valid = SafeTensors.serialize([
            (name: "a", tensor: StoredTensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])),
            (name: "b", tensor: StoredTensor(shape: [1], values: [7])),
        ])
        var generator = SeededGenerator(seed: 11)
        let replacements: [UInt8] = Array("0123456789[]{}\",:-e.FBI ".utf8) + [0, 0xFF, 0x80]
        for _ in 0..<3_000 {
            var bytes = valid
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = replacements[Int(generator.next() % UInt64(replacements.count))]
            }
            if let file = try? SafeTensorsFile(bytes) {
                for name in file.names { _ = try? floats(file, name) }
            }
            _ = try? NPY.parse(bytes)
        }
    }

    @Test func everyTruncationOfAValidFileIsAnErrorNotACrash() throws {
        let valid = SafeTensors.serialize([(name: "w", tensor: StoredTensor(shape: [4], values: [1, 2, 3, 4]))])
        for length in 0..<valid.count {
            #expect(throws: TensorFileError.self) { try SafeTensorsFile(Array(valid.prefix(length))) }
        }
    }

    @Test func aHeaderOfManyEmptyTensorsIsReadQuickly() throws {
        // 200,000 zero-size tensors: a header of 11 MB, checked in one pass.
        let tensors = (0..<200_000).map { (name: "t\($0)", dtype: "F32", shape: [0], data: [UInt8]()) }
        let file = try SafeTensorsFile(stateDict(tensors))
        #expect(file.names.count == 200_000)
    }
}

@Suite struct NumpyFiles {
    @Test func roundTripAndPythonsOwnHeader() throws {
        let bytes = NPY.serialize(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect((bytes.count - 6 * 4) % 64 == 0)
        let parsed = try NPY.parse(bytes)
        #expect(parsed.shape == [2, 3])
        #expect(parsed.values == [1, 2, 3, 4, 5, 6])
        let header = String(decoding: bytes[10..<(bytes.count - 24)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
    }

    static func npy(_ header: String, data: [UInt8]) -> [UInt8] {
        let text = Array(header.utf8)
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    }

    @Test(arguments: [
        (Array("hello".utf8), "not a .npy file (it does not start with \\x93NUMPY)"),
        (npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0, 0, 0, 0, 0]),
         "the array's dtype is '<i8'; convc reads float32 ('<f4') arrays"),
        (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: floatBytes([1, 2])),
         "the array is stored in Fortran order; save it in C order (np.ascontiguousarray)"),
        (npy("{'descr': '<f4', 'shape': (2,), }", data: floatBytes([1, 2])),
         "the .npy header is damaged: it needs 'descr', 'fortran_order' and 'shape'"),
        (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: floatBytes([1, 2])),
         "the .npy data is 8 bytes, but shape [3] of float32 needs 12"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", data: floatBytes([1, 2])),
         "the .npy shape [4611686018427387904] of float64 is impossibly large"),
        (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: floatBytes([1, 2])),
         "the .npy shape [4294967296, 4294967296] is impossibly large"),
    ])
    func damagedArraysGiveOneClearError(bytes: [UInt8], message: String) {
        #expect(throws: TensorFileError(message)) { try NPY.parse(bytes) }
    }
}

@Suite struct WeightMatching {
    let lenet = """
        input: [1, 8, 8]
        layers:
          - conv: { name: conv1, filters: 2, kernel: 3 }
          - batch_norm: { name: bn1 }
          - flatten
          - dense: { name: fc, units: 3 }
        """

    func tensors(_ m: ConvcIR.Model) -> [String: StoredTensor] {
        Dictionary(uniqueKeysWithValues: initialWeights(for: m, seed: 0).map { ($0.name, $0.tensor) })
    }

    @Test func aMissingTensorNamesTheClosestPresent() throws {
        let m = try model(lenet)
        var stored = tensors(m)
        stored["conv_1.weight"] = stored.removeValue(forKey: "conv1.weight")
        #expect(throws: InterpreterError("missing tensor 'conv1.weight' [2, 1, 3, 3]; the closest name present is 'conv_1.weight'")) {
            try WeightSet(model: m, tensors: stored)
        }
    }

    @Test func aWrongShapeSaysBothShapes() throws {
        let m = try model(lenet)
        var stored = tensors(m)
        stored["fc.weight"] = StoredTensor(shape: [3, 50], values: .init(repeating: 0, count: 150))
        #expect(throws: InterpreterError("tensor 'fc.weight' has shape [3, 50], but the spec needs [3, 72]")) {
            try WeightSet(model: m, tensors: stored)
        }
    }

    @Test func extraTensorsAreListedButNumBatchesTrackedIsIgnored() throws {
        let m = try model(lenet)
        var stored = tensors(m)
        stored["bn1.num_batches_tracked"] = StoredTensor(shape: [], values: [0])
        stored["aux.weight"] = StoredTensor(shape: [1], values: [0])
        #expect(try WeightSet(model: m, tensors: stored).unused == ["aux.weight"])
    }

    @Test func aStateDictAsPyTorchSavesItRunsAndMatchesPyTorch() throws {
        // Written by tools/pytorch_reference.py: torchvision BasicBlocks, I64 num_batches_tracked included.
        let folder = packageRoot.appendingPathComponent("Tests/Fixtures/pytorch")
        func data(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }
        let m = try model(String(decoding: try data("tiny_resnet.yaml"), as: UTF8.self))
        let file = try SafeTensorsFile(data("tiny_resnet.safetensors"))
        #expect(file.names.filter { file.dtype(of: $0) == "I64" }.count == 6)
        let set = try WeightSet(model: m, file: file)
        #expect(set.unused.isEmpty && set.strippedPrefix.isEmpty)
        let input = try NPY.parse([UInt8](data("input.npy")))
        let expected = try NPY.parse([UInt8](data("output.npy")))
        let result = try Interpreter(model: m, weights: set).run(Tensor(shape: input.shape, values: input.values))
        #expect(result.shape == [2, 10] && expected.shape == [2, 10])
        #expect(relativeError(result.values, expected.values) <= 1e-5)
        // nn.DataParallel's state_dict: every name under `module.`, read past by itself.
        let parallel = try WeightSet(model: m, file: SafeTensorsFile(data("tiny_resnet_dataparallel.safetensors")))
        #expect(parallel.strippedPrefix == "module.")
        #expect(parallel.values == set.values)
    }

    @Test func aPrefixIsSuggestedWhenNotEveryNameCarriesIt() throws {
        let m = try model(lenet)
        let tensors = initialWeights(for: m, seed: 0).map { (name: "model." + $0.name, tensor: $0.tensor) }
            + [(name: "optimizer.lr", tensor: StoredTensor(shape: [1], values: [0.1]))]
        let file = try SafeTensorsFile(SafeTensors.serialize(tensors))
        #expect(throws: InterpreterError("missing tensor 'conv1.weight' [2, 1, 3, 3] (and 7 more); the file has 'model.conv1.weight': read it with the prefix 'model.' (--strip-prefix)")) {
            try WeightSet(model: m, file: file)
        }
        let set = try WeightSet(model: m, file: file, prefix: "model.")
        #expect(set.unused == ["optimizer.lr"])
        // A prefix under which only some names sit is no suggestion; a prefix given where none is needed is named.
        let nested = try SafeTensorsFile(SafeTensors.serialize(initialWeights(for: m, seed: 0).map { (name: "block.0." + $0.name, tensor: $0.tensor) } + [(name: "fc.weight", tensor: StoredTensor(shape: [1], values: [0]))]))
        #expect(throws: InterpreterError("missing tensor 'conv1.weight' [2, 1, 3, 3] (and 6 more); the file has 'block.0.conv1.weight': read it with the prefix 'block.0.' (--strip-prefix)")) {
            try WeightSet(model: m, file: nested)
        }
        #expect(throws: InterpreterError("missing tensor 'model.conv1.weight' [2, 1, 3, 3] (and 7 more); the file has 'conv1.weight': read it without a prefix")) {
            try WeightSet(model: m, file: SafeTensorsFile(SafeTensors.serialize(initialWeights(for: m, seed: 0))), prefix: "model.")
        }
        let partial = try SafeTensorsFile(SafeTensors.serialize(initialWeights(for: m, seed: 0).filter { $0.name != "fc.bias" }.map { (name: "x." + $0.name, tensor: $0.tensor) }))
        #expect(throws: InterpreterError("missing tensor 'conv1.weight' [2, 1, 3, 3] (and 7 more); the closest name present is 'x.conv1.weight'")) {
            try WeightSet(model: m, file: partial)
        }
    }

    @Test func anIntegerTensorWhereAParameterBelongsIsRefusedByName() throws {
        let m = try model(lenet)
        var entries = initialWeights(for: m, seed: 0).map { (name: $0.name, dtype: "F32", shape: $0.tensor.shape, data: floatBytes($0.tensor.values)) }
        let index = entries.firstIndex { $0.name == "bn1.running_var" }!
        entries[index] = (name: "bn1.running_var", dtype: "I64", shape: [2], data: int64Bytes([1, 1]))
        #expect(throws: TensorFileError("tensor 'bn1.running_var' has dtype I64; a parameter is read from a floating-point tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2)")) {
            try WeightSet(model: m, file: SafeTensorsFile(stateDict(entries)))
        }
    }

    @Test func theInputShapeIsChecked() throws {
        let m = try model(lenet)
        let interpreter = Interpreter(model: m, weights: try WeightSet(model: m, tensors: tensors(m)))
        #expect(throws: InterpreterError("the input has shape [1, 9, 8], but the spec takes [1, 8, 8] or [N, 1, 8, 8]")) {
            try interpreter.run(Tensor(shape: [1, 9, 8], values: .init(repeating: 0, count: 72)))
        }
        #expect(try interpreter.run(Tensor(shape: [3, 1, 8, 8], values: .init(repeating: 1, count: 192))).shape == [3, 3])
    }

    @Test func initialWeightsAreSeededAndBoundedByFanIn() throws {
        let m = try model(lenet)
        let a = initialWeights(for: m, seed: 42), b = initialWeights(for: m, seed: 42), c = initialWeights(for: m, seed: 43)
        #expect(a.map(\.tensor.values) == b.map(\.tensor.values))
        #expect(a.map(\.tensor.values) != c.map(\.tensor.values))
        // conv1: fan_in 9 → |w| ≤ 1/3; fc: fan_in 72
        let conv = a.first { $0.name == "conv1.weight" }!.tensor.values
        #expect(conv.allSatisfy { abs($0) <= Float(1) / 3 } && conv.contains { abs($0) > 0.2 })
        #expect(a.first { $0.name == "bn1.running_var" }!.tensor.values == [1, 1])
    }
}
