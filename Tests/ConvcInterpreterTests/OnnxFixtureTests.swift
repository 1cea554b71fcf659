// The interpreter against ONNX Runtime 1.32 (CPU provider) on committed fixtures: for each small network,
// weights.safetensors (with random batch-norm statistics), a batch-2 input.npy and ONNX Runtime's expected.npy,
// written by tools/make_fixtures.sh from the graph `convc export` prints.

import ConvcFrontend
import ConvcIR
import ConvcInterpreter
import ConvcTensorIO
import Foundation
import Testing

/// Agreement required: max |convc − ONNX Runtime| ≤ 1e-5 × max(1, max |ONNX Runtime|). Both compute in float32 but
/// sum in different orders (and convc folds batch norm), so they differ by a few float32 roundings (~1e-7 seen).
let fixtureTolerance: Float = 1e-5

let fixtures = [
    "lenet5", "tiny_alexnet", "tiny_convnext", "tiny_densenet", "tiny_dilated_past", "tiny_enet", "tiny_inception",
    "tiny_mobilenet", "tiny_modern_activations", "tiny_residual", "tiny_shufflenet", "tiny_split",
    "tiny_squeeze_excitation", "tiny_upsample",
]

@Suite struct OnnxRuntimeFixtures {
    @Test(arguments: fixtures)
    func interpreterAgreesWithOnnxRuntime(_ name: String) throws {
        let folder = packageRoot.appendingPathComponent("Tests/Fixtures/onnx/\(name)")
        let specPath = name == "lenet5" ? "specs/lenet5.yaml" : "Tests/Fixtures/onnx/\(name).yaml"
        let text = try String(contentsOf: packageRoot.appendingPathComponent(specPath), encoding: .utf8)
        let m = try model(text)
        func bytes(_ file: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: folder.appendingPathComponent(file)))
        }
        let set = try WeightSet(model: m, file: SafeTensorsFile(bytes("weights.safetensors")))
        #expect(set.unused.isEmpty)
        let input = try NPY.parse(bytes("input.npy"))
        let expected = try NPY.parse(bytes("expected.npy"))
        #expect(input.shape.first == 2)
        for threads in [1, 2] {
            let result = try Interpreter(model: m, weights: set, threads: threads)
                .run(Tensor(shape: input.shape, values: input.values))
            #expect(result.shape == expected.shape)
            #expect(relativeError(result.values, expected.values) <= fixtureTolerance)
        }
    }

    @Test func fixturesCoverEveryOpKind() throws {
        var kinds: Set<String> = []
        for name in fixtures {
            let specPath = name == "lenet5" ? "specs/lenet5.yaml" : "Tests/Fixtures/onnx/\(name).yaml"
            let m = try model(try String(contentsOf: packageRoot.appendingPathComponent(specPath), encoding: .utf8))
            for layer in m.layers {
                kinds.insert(layer.op.kindName)
                // A fused activation runs the same kernel as the standalone one.
                switch layer.op {
                case .conv(let conv), .convTranspose(let conv):
                    if let activation = conv.activation { kinds.insert(Op.activation(activation).kindName) }
                case .dense(_, _, _, let activation?):
                    kinds.insert(Op.activation(activation).kindName)
                default: break
                }
            }
        }
        // Every op kind (structures excepted: they elaborate to the others, as squeeze_excitation does to a pool, two
        // convs, activations and a multiply), depthwise convs on their own; identity runs nothing (its output is its
        // input's buffer).
        let all = Set(LayerKind.allCases.filter { $0.structure == .leaf || $0 == .concat }.map(\.spelling))
            .union(["input", "conv (depthwise)"]).subtracting(["identity", "squeeze_excitation"])
        #expect(all.subtracting(kinds).isEmpty, "not covered: \(all.subtracting(kinds).sorted())")
    }
}
