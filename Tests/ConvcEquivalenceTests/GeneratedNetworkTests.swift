// generated/, compiled, against the interpreter (same numbers) and the checked model (tables, arenas), for every
// spec in specs/.

import ConvcFrontend
import ConvcGenerated
import ConvcIR
import ConvcInterpreter
import ConvcReport
import ConvcTestSupport
import ConvcTensorIO
import Foundation
import Testing

/// A generated network behind one signature: tensors by name, a batch of inputs → outputs (on two threads, so
/// the parallel path is the one checked).
typealias Forward = @Sendable ([String: [Float]], [Float]) throws -> [Float]

/// What the tests use of one generated type: its forward pass, its activation arena (floats per sample) and its
/// layer table (read from text in the emitted file).
struct GeneratedNetwork {
    let forward: Forward
    let activationFloats: Int
    let layers: [(name: String, kind: String, outputShape: [Int], parameters: Int)]
}

/// Every generated type, by spec file.
let generatedNetworks: [String: GeneratedNetwork] = [
    "alexnet": GeneratedNetwork(forward: { try Alexnet(tensors: $0).predict($1, threads: 2) }, activationFloats: Alexnet.activationFloats, layers: Alexnet.layers),
    "alexnet2012": GeneratedNetwork(forward: { try Alexnet2012Groups2(tensors: $0).predict($1, threads: 2) }, activationFloats: Alexnet2012Groups2.activationFloats, layers: Alexnet2012Groups2.layers),
    "densenet121": GeneratedNetwork(forward: { try Densenet121(tensors: $0).predict($1, threads: 2) }, activationFloats: Densenet121.activationFloats, layers: Densenet121.layers),
    "efficientnet_b0": GeneratedNetwork(forward: { try EfficientnetB0(tensors: $0).predict($1, threads: 2) }, activationFloats: EfficientnetB0.activationFloats, layers: EfficientnetB0.layers),
    "enet": GeneratedNetwork(forward: { try EnetCamvid12(tensors: $0).predict($1, threads: 2) }, activationFloats: EnetCamvid12.activationFloats, layers: EnetCamvid12.layers),
    "googlenet": GeneratedNetwork(forward: { try Googlenet(tensors: $0).predict($1, threads: 2) }, activationFloats: Googlenet.activationFloats, layers: Googlenet.layers),
    "lenet5": GeneratedNetwork(forward: { try Lenet5(tensors: $0).predict($1, threads: 2) }, activationFloats: Lenet5.activationFloats, layers: Lenet5.layers),
    "mobilenet_v1": GeneratedNetwork(forward: { try MobilenetV1(tensors: $0).predict($1, threads: 2) }, activationFloats: MobilenetV1.activationFloats, layers: MobilenetV1.layers),
    "mobilenet_v3_large": GeneratedNetwork(forward: { try MobilenetV3Large(tensors: $0).predict($1, threads: 2) }, activationFloats: MobilenetV3Large.activationFloats, layers: MobilenetV3Large.layers),
    "mobilenet_v3_small": GeneratedNetwork(forward: { try MobilenetV3Small(tensors: $0).predict($1, threads: 2) }, activationFloats: MobilenetV3Small.activationFloats, layers: MobilenetV3Small.layers),
    "nin_cifar10": GeneratedNetwork(forward: { try NinCifar10(tensors: $0).predict($1, threads: 2) }, activationFloats: NinCifar10.activationFloats, layers: NinCifar10.layers),
    "resnet18": GeneratedNetwork(forward: { try Resnet18(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet18.activationFloats, layers: Resnet18.layers),
    "resnet34": GeneratedNetwork(forward: { try Resnet34(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet34.activationFloats, layers: Resnet34.layers),
    "resnet50": GeneratedNetwork(forward: { try Resnet50(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet50.activationFloats, layers: Resnet50.layers),
    "resnet101": GeneratedNetwork(forward: { try Resnet101(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet101.activationFloats, layers: Resnet101.layers),
    "resnet152": GeneratedNetwork(forward: { try Resnet152(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet152.activationFloats, layers: Resnet152.layers),
    "convnext_tiny": GeneratedNetwork(forward: { try ConvnextTiny(tensors: $0).predict($1, threads: 2) }, activationFloats: ConvnextTiny.activationFloats, layers: ConvnextTiny.layers),
    "deeplabv3_mobilenet_v3_large": GeneratedNetwork(forward: { try Deeplabv3MobilenetV3Large(tensors: $0).predict($1, threads: 2) }, activationFloats: Deeplabv3MobilenetV3Large.activationFloats, layers: Deeplabv3MobilenetV3Large.layers),
    "efficientnet_v2_s": GeneratedNetwork(forward: { try EfficientnetV2S(tensors: $0).predict($1, threads: 2) }, activationFloats: EfficientnetV2S.activationFloats, layers: EfficientnetV2S.layers),
    "fcn_resnet50": GeneratedNetwork(forward: { try FcnResnet50(tensors: $0).predict($1, threads: 2) }, activationFloats: FcnResnet50.activationFloats, layers: FcnResnet50.layers),
    "lraspp_mobilenet_v3_large": GeneratedNetwork(forward: { try LrasppMobilenetV3Large(tensors: $0).predict($1, threads: 2) }, activationFloats: LrasppMobilenetV3Large.activationFloats, layers: LrasppMobilenetV3Large.layers),
    "regnet_y_400mf": GeneratedNetwork(forward: { try RegnetY400mf(tensors: $0).predict($1, threads: 2) }, activationFloats: RegnetY400mf.activationFloats, layers: RegnetY400mf.layers),
    "shufflenet_v2_x1_0": GeneratedNetwork(forward: { try ShufflenetV2X10(tensors: $0).predict($1, threads: 2) }, activationFloats: ShufflenetV2X10.activationFloats, layers: ShufflenetV2X10.layers),
    "vgg11": GeneratedNetwork(forward: { try Vgg11(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg11.activationFloats, layers: Vgg11.layers),
    "vgg13": GeneratedNetwork(forward: { try Vgg13(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg13.activationFloats, layers: Vgg13.layers),
    "vgg16": GeneratedNetwork(forward: { try Vgg16(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg16.activationFloats, layers: Vgg16.layers),
    "vgg16_bn": GeneratedNetwork(forward: { try Vgg16Bn(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg16Bn.activationFloats, layers: Vgg16Bn.layers),
    "vgg19": GeneratedNetwork(forward: { try Vgg19(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg19.activationFloats, layers: Vgg19.layers),
]

/// Agreement required between generated code and the interpreter: max |Δ| ≤ 1e-4 × max(1, max |interpreter|).
/// Both compute in float32 but sum taps in different orders (direct loops vs GEMM), so they differ by roundings that
/// grow with depth and reduction length (about 1e-6 seen on ResNet-152).
let generatedTolerance: Float = 1e-4

@Suite struct GeneratedNetworks {
    @Test func everySpecHasAGeneratedType() {
        #expect(Set(generatedNetworks.keys) == Set(specNames))
    }

    /// The emitted arena is the fused plan's, which is the peak `convc summary` reports.
    @Test(arguments: specNames)
    func activationArenaIsThePeakTheSummaryReports(_ name: String) throws {
        let model = try loadModel(name)
        let floats = try #require(generatedNetworks[name]).activationFloats
        #expect(floats * 4 == summarize(model).peakActivationBytes)
    }

    /// The layer table each emitted file parses from text holds the checked model's names, kinds, shapes and counts.
    @Test(arguments: specNames)
    func layerTableIsTheModels(_ name: String) throws {
        let model = try loadModel(name)
        let table = try #require(generatedNetworks[name]).layers
        let layers = model.layers.dropFirst()
        #expect(table.map(\.name) == layers.map(\.name))
        #expect(table.map(\.kind) == layers.map(\.op.kindName))
        #expect(table.map(\.outputShape) == layers.map(\.outputShape.dims))
        #expect(table.map(\.parameters) == layers.map(\.trainableParameterCount))
    }

    @Test func denseNet121TableStartsWithTorchvisionsFirstLayers() throws {
        let first = Densenet121.layers[0]
        #expect(first.name == "features.conv0" && first.kind == "conv" && first.outputShape == [64, 112, 112] && first.parameters == 9408)
        #expect(Densenet121.layers.map(\.parameters).reduce(0, +) == 7_978_856)
    }

    @Test func resNet18ArenaHoldsConv1AndTheMaxPool() {
        // 64×112×112 + 64×56×56 floats: 3.83 MiB in both the emitted file and `convc summary`
        #expect(Resnet18.activationFloats == 1_003_520)
        #expect(Resnet18.arenaFloats == Resnet18.activationFloats + Resnet18.scratchFloats)
    }

    @Test func arenasStartOnCacheLines() throws {
        // Small buffers align to 64 bytes, large ones (2 MiB and up) to 2 MiB pages; both come zeroed.
        for count in [1, 1000, Resnet50.arenaFloats] {
            let buffer = Resnet50.AlignedFloats(count: count)
            #expect(UInt(bitPattern: buffer.pointer) % (count * 4 >= 2 << 20 ? 2 << 20 : 64) == 0, "\(count)")
            #expect(buffer.count == count && buffer.pointer[0] == 0 && buffer.pointer[count - 1] == 0)
        }
        let copy = Lenet5.AlignedFloats(copying: [1, 2, 3])
        #expect(Array(UnsafeBufferPointer(start: copy.pointer, count: 3)) == [1, 2, 3] && copy.count == 3)
    }

    @Test(arguments: specNames)
    func generatedCodeAgreesWithTheInterpreter(_ name: String) throws {
        let model = try loadModel(name)
        let forward = try #require(generatedNetworks[name]).forward
        var stored: [String: StoredTensor] = [:]
        for (tensorName, tensor) in initialWeights(for: model, seed: 7, randomStatistics: true) {
            stored[tensorName] = tensor
        }
        let input = seededInput(shape: [1] + model.inputShape.dims, seed: 9)
        let expected = try Interpreter(model: model, weights: WeightSet(model: model, tensors: stored)).run(input)
        let actual = try forward(stored.mapValues(\.values), input.values)
        #expect(actual.count == expected.values.count)
        let scale = max(1, expected.values.map(abs).max() ?? 0)
        let differing = actual.indices.filter { abs(actual[$0] - expected.values[$0]) > generatedTolerance * scale }
        // A max_unpool puts each value where its max pool found the maximum; when two window values are equal to
        // within rounding, the two implementations may pick different positions, which moves a few outputs
        // (ENet at 512×512: about 0.02% of them). Elsewhere every output must agree.
        let unpools = model.layers.contains { if case .maxUnpool = $0.op { true } else { false } }
        let allowed = unpools ? actual.count / 1000 : 0
        #expect(differing.count <= allowed, "\(differing.count) of \(actual.count) outputs differ by more than the tolerance")
    }
}
