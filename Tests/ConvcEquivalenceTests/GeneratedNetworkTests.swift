// generated/ against the emitter (fresh) and against the interpreter (same numbers), for every spec in specs/.

import ConvcFrontend
import ConvcGenerated
import ConvcIR
import ConvcInterpreter
import ConvcReport
import ConvcSwiftEmitter
import ConvcTensorIO
import Foundation
import Testing

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

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
    "enet": GeneratedNetwork(forward: { try EnetCamvid12(tensors: $0).predict($1, threads: 2) }, activationFloats: EnetCamvid12.activationFloats, layers: EnetCamvid12.layers),
    "googlenet": GeneratedNetwork(forward: { try Googlenet(tensors: $0).predict($1, threads: 2) }, activationFloats: Googlenet.activationFloats, layers: Googlenet.layers),
    "lenet5": GeneratedNetwork(forward: { try Lenet5(tensors: $0).predict($1, threads: 2) }, activationFloats: Lenet5.activationFloats, layers: Lenet5.layers),
    "mobilenet_v1": GeneratedNetwork(forward: { try MobilenetV1(tensors: $0).predict($1, threads: 2) }, activationFloats: MobilenetV1.activationFloats, layers: MobilenetV1.layers),
    "nin_cifar10": GeneratedNetwork(forward: { try NinCifar10(tensors: $0).predict($1, threads: 2) }, activationFloats: NinCifar10.activationFloats, layers: NinCifar10.layers),
    "resnet18": GeneratedNetwork(forward: { try Resnet18(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet18.activationFloats, layers: Resnet18.layers),
    "resnet34": GeneratedNetwork(forward: { try Resnet34(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet34.activationFloats, layers: Resnet34.layers),
    "resnet50": GeneratedNetwork(forward: { try Resnet50(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet50.activationFloats, layers: Resnet50.layers),
    "resnet101": GeneratedNetwork(forward: { try Resnet101(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet101.activationFloats, layers: Resnet101.layers),
    "resnet152": GeneratedNetwork(forward: { try Resnet152(tensors: $0).predict($1, threads: 2) }, activationFloats: Resnet152.activationFloats, layers: Resnet152.layers),
    "vgg11": GeneratedNetwork(forward: { try Vgg11(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg11.activationFloats, layers: Vgg11.layers),
    "vgg13": GeneratedNetwork(forward: { try Vgg13(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg13.activationFloats, layers: Vgg13.layers),
    "vgg16": GeneratedNetwork(forward: { try Vgg16(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg16.activationFloats, layers: Vgg16.layers),
    "vgg16_bn": GeneratedNetwork(forward: { try Vgg16Bn(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg16Bn.activationFloats, layers: Vgg16Bn.layers),
    "vgg19": GeneratedNetwork(forward: { try Vgg19(tensors: $0).predict($1, threads: 2) }, activationFloats: Vgg19.activationFloats, layers: Vgg19.layers),
]

let specNames: [String] = {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("specs").path)) ?? []
    return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
}()

func loadModel(_ name: String) throws -> Model {
    let text = try String(contentsOf: packageRoot.appendingPathComponent("specs/\(name).yaml"), encoding: .utf8)
    let (model, engine) = compileSpec(text, file: "specs/\(name).yaml")
    #expect(!engine.hasErrors)
    return try #require(model)
}

/// Agreement required between generated code and the interpreter: max |Δ| ≤ 1e-4 × max(1, max |interpreter|).
/// Both compute in float32 but sum taps in different orders (direct loops vs GEMM), so they differ by roundings that
/// grow with depth and reduction length (about 1e-6 seen on ResNet-152).
let generatedTolerance: Float = 1e-4

@Suite struct GeneratedNetworks {
    @Test func everySpecHasAGeneratedType() {
        #expect(Set(generatedNetworks.keys) == Set(specNames))
    }

    @Test(arguments: specNames)
    func generatedFileIsFresh(_ name: String) throws {
        let model = try loadModel(name)
        let source = emitSwift(model, options: EmitOptions(sourcePath: "specs/\(name).yaml"))
        let url = packageRoot.appendingPathComponent("generated/\(name).swift")
        if ProcessInfo.processInfo.environment["CONVC_RECORD"] == "1" {
            try source.write(to: url, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(source == committed, "generated/\(name).swift is stale: run tools/regenerate.sh")
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

    @Test func weightsAndArenasStartOnCacheLines() throws {
        // Small buffers align to 64 bytes, large ones (2 MiB and up) to 2 MiB pages; both come zeroed.
        for count in [1, 1000, Resnet50.arenaFloats] {
            let buffer = Resnet50.AlignedFloats(count: count)
            #expect(UInt(bitPattern: buffer.pointer) % (count * 4 >= 2 << 20 ? 2 << 20 : 64) == 0, "\(count)")
            #expect(buffer.count == count && buffer.pointer[0] == 0 && buffer.pointer[count - 1] == 0)
        }
        let copy = Lenet5.AlignedFloats(copying: [1, 2, 3])
        #expect(Array(UnsafeBufferPointer(start: copy.pointer, count: 3)) == [1, 2, 3] && copy.count == 3)
        // Each layer's weights start on a 64-byte line of the aligned storage: every weight offset is a multiple
        // of 16 floats (before, 6 of GoogLeNet's 58 layers and 5 of ENet's 157 started mid-line).
        for name in ["resnet50", "googlenet", "enet"] {
            let source = try String(contentsOf: packageRoot.appendingPathComponent("generated/\(name).swift"), encoding: .utf8)
            let offsets = source.matches(of: /, w \+ ([0-9_]+),/).map { Int($0.1.replacing("_", with: ""))! }
            #expect(offsets.count > 20 && offsets.allSatisfy { $0 % 16 == 0 }, "\(name): \(offsets.filter { $0 % 16 != 0 })")
        }
    }

    /// Which activations run NCHWc: MobileNet v1's all, from its first conv's output to its pool's input; in
    /// ResNet-50 the 3×3 convs' outputs (Winograd's or stride 2), which 1×1 convs read, except in the first
    /// stage, whose 1×1 convs run as pixel vectors (six functions, shared by the other blocks of a stage); none
    /// in ResNet-18 (its 3×3 convs feed 3×3 convs or residual adds) or VGG-16.
    @Test func nchwcActivationsAreWhereTheirKernelsAre() throws {
        func layouts(_ name: String) throws -> [(input: Bool, output: Bool)] {
            let source = try String(contentsOf: packageRoot.appendingPathComponent("generated/\(name).swift"), encoding: .utf8)
            return source.split(separator: "\n").filter { $0.contains("// x: ") }.map { line in
                let halves = line.components(separatedBy: "   y: ")
                return (halves[0].hasSuffix("NCHWc"), halves[1].hasSuffix("NCHWc"))
            }
        }
        // One line per function (blocks 8 to 11 call block 7's): the first conv, 18 depthwise and 1×1 convs, the
        // pool, the classifier.
        let mobileNet = try layouts("mobilenet_v1")
        try #require(mobileNet.count == 21)
        #expect(mobileNet[0] == (false, true) && mobileNet[1..<19].allSatisfy { $0 == (true, true) })
        #expect(mobileNet[19] == (true, false) && mobileNet[20] == (false, false))
        let resNet50 = try layouts("resnet50")
        #expect(resNet50.filter(\.output).count == 6 && resNet50.filter(\.input).count == 6)
        #expect(try layouts("resnet18").allSatisfy { !$0.input && !$0.output })
        #expect(try layouts("vgg16").allSatisfy { !$0.input && !$0.output })
    }

    /// The body of `static func name(` in an emitted file, up to the next function.
    func body(_ name: String, in source: String) -> Substring {
        guard let start = source.range(of: "static func \(name)(") else { return "" }
        let rest = source[start.upperBound...]
        return rest[..<(rest.range(of: "static func ")?.lowerBound ?? rest.endIndex)]
    }

    @Test func resNet18ConvsPickTheirKernelsForSixteenRegisters() throws {
        let source = try String(contentsOf: packageRoot.appendingPathComponent("generated/resnet18.swift"), encoding: .utf8)
        // stride-1 3×3 convs from 56×56 down to 7×7: Winograd F(2×2, 3×3), in bands of tile rows (56×56 with
        // 64 channels: 16 rows of 28 tiles, so that one value's transformed inputs are 128 KB)
        #expect(body("layer1_0_conv1", in: source).contains("Winograd F(2×2, 3×3): 28×28 tiles in bands of 16 tile rows"))
        #expect(body("layer4_0_conv2", in: source).contains("Winograd F(2×2, 3×3): 4×4 tiles in bands of 4 tile rows"))
        // other convs with at least 64 multiply-adds per output: 16 channels × 6 pixels anywhere in the map,
        // whatever the stride or kernel (conv1 is 7×7 stride 2 over 3 channels: 147)
        for name in ["conv1", "layer3_0_conv1", "layer2_0_downsample_0"] {
            #expect(body(name, in: source).contains("tile: 16 channels (2 vectors) × 6 output pixels"), "\(name)")
        }
        // 1×1 convs that sum their input channels in chunks: 32 channels × 3 pixels, three broadcasts for twelve
        // multiply-adds, each weight vector loaded right before its three
        for name in ["layer3_0_downsample_0", "layer4_0_downsample_0"] {
            #expect(body(name, in: source).contains("tile: 32 channels (4 vectors) × 3 output pixels"), "\(name)")
        }
        let projection = body("layer4_0_downsample_0", in: source).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
        #expect(projection.contains("let w3 = Self.load8(k + 24)\nSelf.multiplyAdd(&a3_0, b0, w3)\n"))
        // 14×14 and 7×7 maps sum their input channels in chunks (64 for 1×1); 28×28 ones with 128 KB of weights
        // per block too (16 for 3×3)
        #expect(body("layer4_0_downsample_0", in: source).contains("input channels in chunks of 64"))
        #expect(body("layer4_0_conv1", in: source).contains("input channels in chunks of 16"))
        #expect(!body("layer2_0_conv1", in: source).contains("chunks"))
        // a padded conv reads a zero-padded copy; the 1×1 stride-2 projection a compact copy of every other pixel
        #expect(body("layer3_0_conv1", in: source).contains("Self.pad("))
        #expect(body("layer4_0_downsample_0", in: source).contains("Self.subsample(x, channels: 256, height: 14, width: 14, stride: (2, 2)"))
        // the residual add and the relu after it run in the projection (a vector pass over each block's planes),
        // and in Winograd's output loop
        #expect(body("layer4_0_downsample_0", in: source).contains("Self.addResidual(y + planeOffset, x1 + planeOffset, from: firstPixel, to: endPixel, relu: true)"))
        #expect(body("layer1_0_conv2", in: source).contains("+ x1[index]"))
        // the max pool combines rows on the thread's stack: no padded copy of its 64×112×112 input
        #expect(body("maxpool", in: source).contains("withUnsafeTemporaryAllocation") && !body("maxpool", in: source).contains("Self.pad"))
    }

    @Test func resNet18ConvsPickTheirKernelsForThirtyTwoRegisters() throws {
        let source = emitSwift(try loadModel("resnet18"), options: EmitOptions(sourcePath: "specs/resnet18.yaml", target: .avx512))
        // 7×7 stride 2 on 224 + 2·3 padding: four phase planes of 115×115, stride-1 reads over them
        #expect(body("conv1", in: source).contains("four phase planes of 115×115"))
        #expect(body("conv1", in: source).contains("tile: 8 filters × 2 vectors of 16 positions"))
        // 56×56 and below: channel vectors, 32 channels × 14 pixels (7 on a 7×7 map)
        #expect(body("layer1_0_conv1", in: source).contains("tile: 32 channels × 14 pixels"))
        #expect(body("layer2_1_conv1", in: source).contains("tile: 32 channels × 14 pixels"))
        #expect(body("layer4_0_conv2", in: source).contains("tile: 32 channels × 7 pixels"))
        // a strided 3×3 conv takes segments of at most 7 pixels (its overlapping taps would spill 28 accumulators)
        #expect(body("layer3_0_conv1", in: source).contains("tile: 32 channels × 7 pixels"))
        // a 1×1 stride-2 projection has no padding, so it reads its input directly
        #expect(body("layer4_0_downsample_0", in: source).contains("tile: 32 channels × 7 pixels") && !body("layer4_0_downsample_0", in: source).contains("Self.pad"))
        #expect(body("layer4_0_downsample_0", in: source).contains("+ x1[outputOffset &+ p]"))
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
