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

@Suite struct SafeTensorFiles {
    @Test func roundTripKeepsNamesShapesAndValues() throws {
        let tensors = [
            (name: "conv1.weight", tensor: StoredTensor(shape: [2, 1, 1, 2], values: [1, -2, 3.5, 4])),
            (name: "conv1.bias", tensor: StoredTensor(shape: [2], values: [0.25, -0.5])),
        ]
        let parsed = try SafeTensors.parse(SafeTensors.serialize(tensors))
        #expect(parsed["conv1.weight"]?.shape == [2, 1, 1, 2])
        #expect(parsed["conv1.weight"]?.values == [1, -2, 3.5, 4])
        #expect(parsed["conv1.bias"]?.values == [0.25, -0.5])
    }

    @Test func halfAndBFloat16AreConverted() throws {
        // F16 0x3C00 = 1, 0xC000 = -2, 0x0001 = 2^-24; BF16 0x3F80 = 1, 0xC040 = -3
        let bytes = safetensors(
            #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}}"#,
            data: [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x80, 0x3F, 0x40, 0xC0])
        let parsed = try SafeTensors.parse(bytes)
        #expect(parsed["h"]?.values == [1, -2, Float(1) / 16_777_216])
        #expect(parsed["b"]?.values == [1, -3])
    }

    @Test(arguments: [
        (safetensors("{}").prefix(5).map { $0 }, "the file is 5 bytes long; a safetensors file starts with an 8-byte header length"),
        ([200, 0, 0, 0, 0, 0, 0, 0, 123, 125], "the header length 200 runs past the end of the file (10 bytes)"),
        (safetensors("{not json"), "the header is not valid JSON"),
        (safetensors("[1, 2]"), "the header is not a JSON object"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has data_offsets [0, 16] outside the 8 data bytes"),
        (safetensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has shape [3] (3 × 4 bytes) but data_offsets span 8 bytes"),
        (safetensors(#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])),
         "tensor 'w' has dtype I64; convc reads F32, F16, BF16 and F64"),
        (safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: floatBytes([1, 2])),
         "tensors 'a' and 'b' overlap in the data"),
        (safetensors(#"{"w":{"dtype":"F32"}}"#), "tensor 'w' needs 'dtype', 'shape' and two 'data_offsets' in the header"),
    ])
    func damagedFilesGiveOneClearError(bytes: [UInt8], message: String) {
        #expect(throws: TensorFileError(message)) { try SafeTensors.parse(bytes) }
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
            _ = try? SafeTensors.parse(bytes)
            _ = try? NPY.parse(bytes)
        }
    }

    @Test func everyTruncationOfAValidFileIsAnErrorNotACrash() throws {
        let valid = SafeTensors.serialize([(name: "w", tensor: StoredTensor(shape: [4], values: [1, 2, 3, 4]))])
        for length in 0..<valid.count {
            #expect(throws: TensorFileError.self) { try SafeTensors.parse(Array(valid.prefix(length))) }
        }
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
