// The emitter's decisions for the reference networks, from its planning pass (kernels, tiles, bands, layouts,
// weight offsets), and the files in generated/, which must be what the emitter writes today.

import ConvcFrontend
import ConvcIR
@testable import ConvcSwiftEmitter
import ConvcTestSupport
import Foundation
import Testing

@Suite struct EmittedReferenceNetworks {
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

    @Test func weightsStartOnCacheLines() throws {
        // Each layer's weights start on a 64-byte line of the aligned storage: every weight offset is a multiple
        // of 16 floats (before, 6 of GoogLeNet's 58 layers and 5 of ENet's 157 started mid-line).
        for name in ["resnet50", "googlenet", "enet"] {
            let offsets = planEmission(try loadModel(name), target: .avx2).weightOffsets.values
            #expect(offsets.count > 20 && offsets.allSatisfy { $0 % 16 == 0 }, "\(name): \(offsets.filter { $0 % 16 != 0 })")
        }
    }

    /// Which activations run NCHWc: MobileNet v1's all, from its first conv's output to its pool's input; in
    /// ResNet-50 the 3×3 convs' outputs (Winograd's or stride 2), which 1×1 convs read, except in the first
    /// stage, whose 1×1 convs run as pixel vectors; none in ResNet-18 (its 3×3 convs feed 3×3 convs or residual
    /// adds) or VGG-16, and none on AVX-512 (its vectors hold sixteen channels).
    @Test func nchwcActivationsAreWhereTheirKernelsAre() throws {
        func layouts(_ name: String, target: EmitTarget = .avx2) throws -> [NCHWcSides] {
            let emission = planEmission(try loadModel(name), target: target)
            return emission.execution.steps.map { emission.kernel($0).layout }
        }
        // The first conv, 13 depthwise and 13 1×1 convs, the pool, the classifier.
        let mobileNet = try layouts("mobilenet_v1")
        try #require(mobileNet.count == 29)
        #expect(mobileNet[0] == NCHWcSides(input: false, output: true))
        #expect(mobileNet[1..<27].allSatisfy { $0 == NCHWcSides(input: true, output: true) })
        #expect(mobileNet[27] == NCHWcSides(input: true, output: false) && !mobileNet[28].any)
        // 13 blocks past the first stage: conv2 writes NCHWc, conv3 reads it.
        let resNet50 = try layouts("resnet50")
        #expect(resNet50.filter(\.output).count == 13 && resNet50.filter(\.input).count == 13)
        #expect(try layouts("resnet18").allSatisfy { !$0.any })
        #expect(try layouts("vgg16").allSatisfy { !$0.any })
        #expect(try layouts("mobilenet_v1", target: .avx512).allSatisfy { !$0.any })
    }

    /// Each step's kernel plan by layer name.
    func kernels(_ name: String, target: EmitTarget) throws -> [String: KernelPlan] {
        let model = try loadModel(name)
        let emission = planEmission(model, target: target)
        return Dictionary(uniqueKeysWithValues: emission.execution.steps.map { (model.layers[$0.layer].name, emission.kernel($0)) })
    }

    func algorithm(_ plan: KernelPlan?) -> ConvolutionAlgorithm? {
        guard case .convolution(_, let algorithm) = plan?.kernel else { return nil }
        return algorithm
    }

    func winograd(_ plan: KernelPlan?) -> WinogradPlan? {
        guard case .winograd(let winograd) = algorithm(plan) else { return nil }
        return winograd
    }

    func pixelGroups(_ plan: KernelPlan?) -> PixelGroupPlan? {
        guard case .pixelGroups(let groups) = algorithm(plan) else { return nil }
        return groups
    }

    func channelVectors(_ plan: KernelPlan?) -> ChannelVectorPlan? {
        guard case .channelVectors(let vectors) = algorithm(plan) else { return nil }
        return vectors
    }

    @Test func resNet18ConvsPickTheirKernelsForSixteenRegisters() throws {
        let plans = try kernels("resnet18", target: .avx2)
        // stride-1 3×3 convs from 56×56 down to 7×7: Winograd F(2×2, 3×3), in bands of tile rows (56×56 with
        // 64 channels: 16 rows of 28 tiles, so that one value's transformed inputs are 128 KB)
        let first = try #require(winograd(plans["layer1.0.conv1"]))
        #expect((first.tileRows, first.tileColumns, first.bandRows) == (28, 28, 16))
        let last = try #require(winograd(plans["layer4.0.conv2"]))
        #expect((last.tileRows, last.tileColumns, last.bandRows) == (4, 4, 4))
        // other convs with at least 64 multiply-adds per output: 16 channels × 6 pixels anywhere in the map,
        // whatever the stride or kernel (conv1 is 7×7 stride 2 over 3 channels: 147)
        for name in ["conv1", "layer3.0.conv1", "layer2.0.downsample.0"] {
            #expect(pixelGroups(plans[name])?.tile == GroupTile(vectors: 2, pixels: 6, lanes: 8), "\(name)")
        }
        // 1×1 convs that sum their input channels in chunks: 32 channels × 3 pixels, three broadcasts for twelve
        // multiply-adds
        for name in ["layer3.0.downsample.0", "layer4.0.downsample.0"] {
            #expect(pixelGroups(plans[name])?.tile == GroupTile(vectors: 4, pixels: 3, lanes: 8), "\(name)")
        }
        // 14×14 and 7×7 maps sum their input channels in chunks (64 for 1×1); 28×28 ones with 128 KB of weights
        // per block too (16 for 3×3)
        let projection = try #require(pixelGroups(plans["layer4.0.downsample.0"]))
        #expect(projection.chunk == 64)
        #expect(pixelGroups(plans["layer4.0.conv1"])?.chunk == 16)
        #expect(pixelGroups(plans["layer2.0.conv1"]).map { $0.chunk == nil } == true)
        // a padded conv reads a zero-padded copy; the 1×1 stride-2 projection a compact copy of every other pixel
        #expect(pixelGroups(plans["layer3.0.conv1"])?.source == PixelGroupSource(rows: 30, columns: 30, copied: true, subsampled: false))
        #expect(projection.source == PixelGroupSource(rows: 7, columns: 7, copied: true, subsampled: true))
        // the residual add and the relu after it run in the projection (a vector pass over each block's planes,
        // in one band), and in Winograd's output loop
        #expect(projection.residualPass && projection.bandGroups == 17)
        #expect(plans["layer4.0.downsample.0"]?.epilogue == Epilogue(residual: true, activation: .relu))
        #expect(plans["layer1.0.conv2"]?.epilogue == Epilogue(residual: true, activation: .relu))
        // the max pool combines rows on the thread's stack: no padded copy of its 64×112×112 input
        guard case .vectorMaxPool = plans["maxpool"]?.kernel else { Issue.record("maxpool: \(String(describing: plans["maxpool"]))"); return }
        #expect(plans["maxpool"]?.scratchFloats == 0)
        // each weight vector of a 4 × 3 tile is loaded right before its three multiply-adds
        let source = try String(contentsOf: packageRoot.appendingPathComponent("generated/resnet18.swift"), encoding: .utf8)
        let body = body("layer4_0_downsample_0", in: source).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
        #expect(body.contains("let w3 = Self.load8(k + 24)\nSelf.multiplyAdd(&a3_0, b0, w3)\n"))
    }

    /// The body of `static func name(` in an emitted file, up to the next function.
    func body(_ name: String, in source: String) -> Substring {
        guard let start = source.range(of: "static func \(name)(") else { return "" }
        let rest = source[start.upperBound...]
        return rest[..<(rest.range(of: "static func ")?.lowerBound ?? rest.endIndex)]
    }

    @Test func resNet18ConvsPickTheirKernelsForThirtyTwoRegisters() throws {
        let plans = try kernels("resnet18", target: .avx512)
        // 7×7 stride 2 on 224 + 2·3 padding: four phase planes of 115×115, stride-1 reads over them
        guard case .flat(let flat) = algorithm(plans["conv1"]) else { Issue.record("conv1 is not flat"); return }
        #expect((flat.rows, flat.columns, flat.phases) == (115, 115, 4))
        // 56×56 and below: channel vectors, 32 channels × 14 pixels (7 on a 7×7 map)
        #expect(channelVectors(plans["layer1.0.conv1"])?.pixels == 14)
        #expect(channelVectors(plans["layer2.1.conv1"])?.pixels == 14)
        #expect(channelVectors(plans["layer4.0.conv2"])?.pixels == 7)
        // a strided 3×3 conv takes segments of at most 7 pixels (its overlapping taps would spill 28 accumulators)
        #expect(channelVectors(plans["layer3.0.conv1"])?.pixels == 7)
        // a 1×1 stride-2 projection has no padding, so it reads its input directly, and adds the residual
        let projection = try #require(channelVectors(plans["layer4.0.downsample.0"]))
        #expect(projection.pixels == 7 && projection.padded == nil && plans["layer4.0.downsample.0"]?.scratchFloats == 0)
        #expect(plans["layer4.0.downsample.0"]?.epilogue.residual == true)
    }

    /// Steps with equal plans call one function: ResNet-152's third stage repeats one block 35 times after its
    /// first, and the later blocks call the second block's functions.
    @Test func stepsWithEqualPlansShareAFunction() throws {
        let model = try loadModel("resnet152")
        let source = emitSwift(model, options: EmitOptions(sourcePath: "specs/resnet152.yaml"))
        #expect(source.contains("Self.layer3_1_conv1(") && !source.contains("func layer3_2_conv1("))
        #expect(source.matches(of: /Self\.layer3_1_conv2\(/).count == 35)
        // One function per distinct plan, each documented with its spec location.
        let emission = planEmission(model, target: .avx2)
        #expect(Set(emission.kernels.values).count == source.matches(of: /\/\/\/ Generated from specs/).count)
    }
}
