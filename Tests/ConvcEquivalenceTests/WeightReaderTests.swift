// convc's weights reader and the one in every emitted file give the same verdict on the same file.

import ConvcGenerated
import ConvcIR
import ConvcInterpreter
import ConvcTensorIO
import ConvcTestSupport
import Foundation
import Testing

/// Bytes of a safetensors file: an 8-byte header length, the header, the data.
func safetensorsBytes(_ header: String, data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    return (0..<8).map { UInt8((UInt64(json.count) >> (8 * UInt64($0))) & 0xFF) } + json + data
}

/// LeNet-5's weights written as a `state_dict` is: F32 parameters (one of them as another dtype, if asked),
/// names optionally under a prefix, and extra tensors of other dtypes.
func lenetStateDict(
    prefix: String = "", retyped: (name: String, dtype: String, width: Int)? = nil,
    extra: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])] = []
) throws -> [UInt8] {
    let model = try loadModel("lenet5")
    var header: [String] = []
    var data: [UInt8] = []
    func add(_ name: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) {
        header.append(#""\#(name)":{"dtype":"\#(dtype)","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(data.count),\#(data.count + bytes.count)]}"#)
        data += bytes
    }
    for (name, tensor) in initialWeights(for: model, seed: 5) {
        if let retyped, retyped.name == name {
            add(prefix + name, retyped.dtype, tensor.shape, [UInt8](repeating: 0, count: tensor.values.count * retyped.width))
        } else {
            add(prefix + name, "F32", tensor.shape, tensor.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        }
    }
    for tensor in extra { add(tensor.name, tensor.dtype, tensor.shape, tensor.bytes) }
    return safetensorsBytes("{" + header.joined(separator: ",") + "}", data: data)
}

/// What one reader made of a file: the weights, or the message it failed with.
enum Verdict: Equatable {
    case read
    case refused(String)
}

@Suite final class WeightReaders {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("convc-readers-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: folder) }

    func verdicts(_ bytes: [UInt8], index: Int) throws -> (convc: Verdict, emitted: Verdict) {
        let model = try loadModel("lenet5")
        let url = folder.appendingPathComponent("\(index).safetensors")
        try Data(bytes).write(to: url)
        let convc: Verdict
        do {
            _ = try WeightSet(model: model, file: SafeTensorsFile(Data(contentsOf: url)))
            convc = .read
        } catch {
            convc = .refused("\(error)")
        }
        let emitted: Verdict
        do {
            _ = try Lenet5(weights: url)
            emitted = .read
        } catch {
            emitted = .refused("\(error)")
        }
        return (convc, emitted)
    }

    /// The same verdict; the same message, except that convc's for a missing tensor goes on to say more.
    func expectSameVerdict(_ bytes: [UInt8], index: Int, _ comment: String) throws {
        let (convc, emitted) = try verdicts(bytes, index: index)
        switch (convc, emitted) {
        case (.read, .read): break
        case (.refused(let a), .refused(let b)) where a.hasPrefix("missing tensor"):
            #expect(a.hasPrefix(b), "\(comment)")
        default:
            #expect(convc == emitted, "\(comment)")
        }
    }

    @Test func bothReadAStateDictWithIntegerTensorsAndAPrefix() throws {
        let buffers = [
            (name: "bn.num_batches_tracked", dtype: "I64", shape: [Int](), bytes: [UInt8](repeating: 0, count: 8)),
            (name: "mask", dtype: "BOOL", shape: [3], bytes: [1, 0, 1]),
        ]
        #expect(try verdicts(lenetStateDict(extra: buffers), index: 0) == (.read, .read))
        #expect(try verdicts(lenetStateDict(prefix: "module.", extra: [(name: "module.step", dtype: "I64", shape: [], bytes: [UInt8](repeating: 0, count: 8))]), index: 1) == (.read, .read))
        let (convc, emitted) = try verdicts(lenetStateDict(retyped: (name: "conv1.weight", dtype: "I64", width: 8)), index: 2)
        #expect(convc == .refused("tensor 'conv1.weight' has dtype I64; a parameter is read from a floating-point tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2)"))
        #expect(emitted == convc)
    }

    @Test func hostileFilesGetTheSameVerdictFromBoth() throws {
        let hostile: [[UInt8]] = [
            [], [1, 2, 3], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            safetensorsBytes(#"{"conv1.weight":{"dtype":"F32","shape":[6,1,5,5],"data_offsets":[9223372036854775000,9223372036854775807]}}"#, data: []),
            safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0, 9]),
            safetensorsBytes(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            safetensorsBytes(String(repeating: "{\"a\":", count: 100), data: []),
            safetensorsBytes(#"{"\u001b]0;title\u0007":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
        ]
        for (index, bytes) in hostile.enumerated() {
            try expectSameVerdict(bytes, index: index, "hostile file \(index)")
        }
        // Every single-byte change of a valid file, sampled: the readers are one rule, so they cannot differ.
        let valid = try lenetStateDict(extra: [(name: "n", dtype: "I64", shape: [], bytes: [UInt8](repeating: 0, count: 8))])
        let headerEnd = 8 + Int(valid[0]) + Int(valid[1]) << 8
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let replacements = Array("0123456789[]{}\",:-.FIB ".utf8) + [0, 0xFF]
        for index in 0..<150 {
            var bytes = valid
            let position = index < 30 ? next(8) : 8 + next(headerEnd - 8)
            bytes[position] = replacements[next(replacements.count)]
            try expectSameVerdict(bytes, index: 100 + index, "byte \(position) of the header changed to \(bytes[position])")
        }
    }

    @Test func aSlowBuildOfAnEmittedFileSaysWhyAndHowToFixIt() {
        // ConvcGenerated is compiled with -O but for no target CPU, without CONVC_FMA (and with CONVC_QUIET, so
        // nothing is printed): the advice names the fused multiply-adds, not the optimisation.
        let advice = Lenet5.buildAdvice ?? ""
        #expect(advice.hasPrefix("Lenet5: fused multiply-adds are off"), "\(advice)")
        #expect(advice.contains("-DCONVC_FMA") && advice.contains("-target-cpu haswell"))
        #expect(!advice.contains("without optimisation"))
    }
}
