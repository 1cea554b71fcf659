// The emitter's decisions for the reference networks, read from the files in generated/ (which must be what the
// emitter writes today) and from fresh emits: kernels, tiles, layouts and weight offsets.

import ConvcFrontend
import ConvcIR
import ConvcSwiftEmitter
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
}
