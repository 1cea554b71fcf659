// Shape, parameter and MAC rules, each checked against numbers worked out by hand in the comments.

import ConvcFrontend
import ConvcIR
import Testing

@Suite struct ConvolutionShapes {
    @Test func strideTwoSevenBySevenStemHalvesTheInput() throws {
        let model = try compileModel(
            """
            input: [3, 224, 224]
            layers:
              - conv: { name: conv1, filters: 64, kernel: 7, stride: 2, padding: 3 }
            """)
        let conv = try #require(model.layer("conv1"))
        // (224 - 7 + 2·3) / 2 + 1 = 112
        #expect(conv.outputShape == .chw(64, 112, 112))
        // 64·3·7·7 weights + 64 biases
        #expect(conv.trainableParameterCount == 9_408 + 64)
        // 64·112·112 outputs × 3·7·7 taps
        #expect(conv.macs == 118_013_952)
        #expect(conv.parameters.map(\.name) == ["conv1.weight", "conv1.bias"])
        #expect(conv.parameters[0].shape == [64, 3, 7, 7])
    }

    @Test func integerArithmeticWorksWithoutParameters() throws {
        let model = try compileModel(
            """
            input: [3, 32, 32]
            layers:
              - conv: { name: c, filters: 32 * 2, kernel: (7 - 1) // 2, padding: 3 % 2 }
              - flatten
              - dense: { name: fc, units: -2 + 12 }
            """)
        // 64 filters of 3×3, padding 1: (32 - 3 + 2·1) / 1 + 1 = 32
        #expect(model.layer("c")?.outputShape == .chw(64, 32, 32))
        #expect(model.outputShape.dims == [10])
    }

    @Test func asymmetricPaddingPadsEachSideSeparately() throws {
        let model = try compileModel(
            """
            input: [1, 10, 10]
            layers:
              - conv: { name: c, filters: 2, kernel: 3, padding: [1, 0, 0, 0] }
            """)
        // H: (10 - 3 + 1 + 0) + 1 = 9; W: (10 - 3 + 0) + 1 = 8
        #expect(model.layer("c")?.outputShape == .chw(2, 9, 8))
    }

    @Test func dilationWidensTheKernel() throws {
        let model = try compileModel(
            """
            input: [1, 32, 32]
            layers:
              - conv: { name: c, filters: 4, kernel: 3, dilation: 2 }
            """)
        // effective kernel 2·(3 - 1) + 1 = 5: 32 - 5 + 1 = 28
        #expect(model.layer("c")?.outputShape == .chw(4, 28, 28))
        #expect(model.layer("c")?.trainableParameterCount == 4 * 9 + 4)
    }

    @Test func groupsDivideWeightsAndMACs() throws {
        let model = try compileModel(
            """
            input: [64, 56, 56]
            layers:
              - conv: { name: c, filters: 128, kernel: 3, padding: 1, groups: 4 }
            """)
        let conv = try #require(model.layer("c"))
        // weights 128·(64/4)·3·3 = 18,432, + 128 biases
        #expect(conv.trainableParameterCount == 18_560)
        // 128·56·56 outputs × 16·9 taps
        #expect(conv.macs == 57_802_752)
    }

    @Test func depthwiseUsesOneFilterPerChannel() throws {
        let model = try compileModel(
            """
            input: [32, 112, 112]
            layers:
              - conv: { name: dw, depthwise: true, kernel: 3, stride: 2, padding: 1, bias: false }
            """)
        let conv = try #require(model.layer("dw"))
        #expect(conv.outputShape == .chw(32, 56, 56))
        #expect(conv.trainableParameterCount == 288)
        #expect(conv.parameters[0].shape == [32, 1, 3, 3])
        // 32·56·56 outputs × 9 taps
        #expect(conv.macs == 903_168)
    }

    @Test func samePaddingWithStrideTwoRoundsUp() throws {
        let model = try compileModel(
            """
            input: [3, 225, 224]
            layers:
              - conv: { name: c, filters: 8, kernel: 3, stride: 2, padding: same }
            """)
        // ceil(225 / 2) = 113, ceil(224 / 2) = 112
        let conv = try #require(model.layer("c"))
        #expect(conv.outputShape == .chw(8, 113, 112))
        guard case .conv(let c) = conv.op else {
            Issue.record("not a conv")
            return
        }
        // rows: (113 - 1)·2 + 3 - 225 = 2 → 1 + 1; columns: 111·2 + 3 - 224 = 1 → 0 + 1
        #expect(c.padding == Padding(top: 1, bottom: 1, left: 0, right: 1))
    }

    @Test func transposedConvDoublesTheSize() throws {
        let model = try compileModel(
            """
            input: [16, 64, 64]
            layers:
              - conv_transpose: { name: up, filters: 16, kernel: 3, stride: 2, padding: 1, output_padding: 1 }
            """)
        let up = try #require(model.layer("up"))
        // (64 - 1)·2 - 2·1 + (3 - 1) + 1 + 1 = 128
        #expect(up.outputShape == .chw(16, 128, 128))
        // weight [in, out/groups, kh, kw] = 16·16·9, + 16 biases
        #expect(up.trainableParameterCount == 2_320)
        #expect(up.parameters[0].shape == [16, 16, 3, 3])
        // every input element meets 16·9 weights
        #expect(up.macs == 16 * 64 * 64 * 16 * 9)
    }
}

@Suite struct PoolingShapes {
    @Test(arguments: [
        // (input, kernel, stride, padding, ceil) → output, worked out with PyTorch's formula
        (56, 3, 2, 0, false, 27),  // floor(53 / 2) + 1
        (56, 3, 2, 0, true, 28),  // ceil(53 / 2) + 1; last window starts at 54 < 56
        (5, 2, 2, 1, true, 3),  // ceil(5 / 2) + 1 = 4, but window 4 would start at 6 ≥ 5 + 1: dropped
        (112, 3, 2, 1, false, 56),  // ResNet's stem pool
        (14, 2, 2, 0, true, 7),  // GoogLeNet maxpool4
    ])
    func maxPoolFollowsPyTorch(input: Int, kernel: Int, stride: Int, padding: Int, ceil: Bool, expected: Int) throws {
        let model = try compileModel(
            """
            input: [8, \(input), \(input)]
            layers:
              - max_pool: { name: p, kernel: \(kernel), stride: \(stride), padding: \(padding), ceil_mode: \(ceil) }
            """)
        #expect(model.layer("p")?.outputShape == .chw(8, expected, expected))
    }

    @Test func avgPoolStrideDefaultsToKernel() throws {
        let model = try compileModel(
            """
            input: [192, 8, 8]
            layers:
              - avg_pool: { name: p, kernel: 2 }
              - global_avg_pool: { name: g }
              - flatten
              - dense: { name: fc, units: 10 }
            """)
        #expect(model.layer("p")?.outputShape == .chw(192, 4, 4))
        #expect(model.layer("g")?.outputShape == .chw(192, 1, 1))
        #expect(model.layer("flatten")?.outputShape == Shape([192]))
        #expect(model.layer("fc")?.trainableParameterCount == 192 * 10 + 10)
        #expect(model.layer("fc")?.macs == 1_920)
    }

    @Test func unpoolUsesTheIndicesOfANamedPool() throws {
        let model = try compileModel(
            """
            input: [16, 64, 64]
            layers:
              - max_pool: { name: pool, kernel: 2, stride: 2, return_indices: true }
              - conv: { name: c, filters: 16, kernel: 1 }
              - group:
                  name: decoder
                  layers:
                    - max_unpool: { name: unpool, indices: pool }
            """)
        #expect(model.layer("pool")?.outputShape == .chw(16, 32, 32))
        #expect(model.layer("decoder.unpool")?.outputShape == .chw(16, 64, 64))
        guard case .maxUnpool(_, _, _, let source) = model.layer("decoder.unpool")?.op else {
            Issue.record("not an unpool")
            return
        }
        #expect(model.layers[source].name == "pool")
    }
}

@Suite struct NormalisationAndActivations {
    @Test func batchNormHasTwoLearnedAndTwoRunningVectors() throws {
        let model = try compileModel(
            """
            input: [3, 8, 8]
            layers:
              - conv: { name: c, filters: 64, kernel: 3, padding: 1, bias: false }
              - batch_norm: { name: bn }
              - prelu: { name: act, per_channel: true }
              - local_response_norm: { name: lrn, size: 5 }
              - channel_pad: { name: pad, channels: 80 }
            """)
        let bn = try #require(model.layer("bn"))
        #expect(bn.trainableParameterCount == 128)
        #expect(bn.nonTrainableParameterCount == 128)
        #expect(bn.parameters.map(\.name) == ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"])
        #expect(model.layer("act")?.trainableParameterCount == 64)
        #expect(model.layer("lrn")?.trainableParameterCount == 0)
        #expect(model.layer("pad")?.outputShape == .chw(80, 8, 8))
        #expect(model.parameterCount == 64 * 27 + 128 + 64)
        #expect(model.nonTrainableParameterCount == 128)
    }
}

@Suite struct SqueezeExcitationShapes {
    @Test func squeezeExcitationIsTorchvisionsModules() throws {
        let model = try compileModel(
            """
            input: [16, 56, 56]
            layers:
              - group:
                  name: block
                  layers:
                    - relu
                    - squeeze_excitation: { squeeze_channels: 8, scale_activation: hardsigmoid }
            """)
        // MobileNet v3 small's features.1.block.1: avgpool, fc1, activation, fc2, scale_activation, then the product.
        #expect(model.layers.dropFirst().map(\.name) == [
            "block.0", "block.1.avgpool", "block.1.fc1", "block.1.activation", "block.1.fc2", "block.1.scale_activation",
            "block.1",
        ])
        #expect(model.layers.map(\.op.kindName).suffix(6) == ["global_avg_pool", "conv", "relu", "conv", "hardsigmoid", "multiply"])
        // fc1: 16·8 + 8 = 136; fc2: 8·16 + 16 = 144 (torchvision's figures)
        #expect(model.layer("block.1.fc1")?.trainableParameterCount == 136)
        #expect(model.layer("block.1.fc2")?.trainableParameterCount == 144)
        #expect(model.layer("block.1.fc2")?.parameters.map(\.shape) == [[16, 8, 1, 1], [16]])
        // 16·8 + 8·16 multiply-accumulates on 1×1 maps
        #expect(model.macs == 256)
        #expect(model.layer("block.1.scale_activation")?.outputShape == .chw(16, 1, 1))
        #expect(model.outputShape == .chw(16, 56, 56))
        #expect(model.layer("block.1")?.inputs == [1, 6])
    }

    @Test func multiplyBroadcastsAPerChannelGateInEitherOrder() throws {
        let model = try compileModel(
            """
            input: [4, 6, 6]
            layers:
              - relu: { name: x }
              - global_avg_pool
              - sigmoid: { name: gate }
              - multiply: { name: a, inputs: [gate, x] }
              - multiply: { name: b, inputs: [a, x, gate] }
              - squeeze_excitation: { squeeze_channels: 2, activation: none, scale_activation: none }
            """)
        #expect(model.layer("a")?.outputShape == .chw(4, 6, 6))
        // one product per output element and extra input: 144 and 288
        #expect(model.layer("a")?.otherOps == 144)
        #expect(model.layer("b")?.otherOps == 288)
        // without its activations: avgpool, fc1, fc2, product
        #expect(model.layers.suffix(4).map(\.name) == [
            "squeeze_excitation.avgpool", "squeeze_excitation.fc1", "squeeze_excitation.fc2", "squeeze_excitation",
        ])
    }

    @Test func upsampleTakesASizeAScaleOrAnotherLayersSize() throws {
        let model = try compileModel(
            """
            input: [3, 7, 9]
            layers:
              - conv: { name: c, filters: 4, kernel: 3, stride: 2 }
              - upsample: { name: twice, scale: 2 }
              - upsample: { name: odd, input: c, scale: 2.5, mode: bilinear }
              - upsample: { name: sized, input: c, size: [5, 6] }
              - upsample: { name: square, input: c, size: 8, mode: bilinear, align_corners: true }
              - upsample: { name: back, input: twice, like: input, mode: bilinear }
            """)
        // c: (7 − 3)/2 + 1 = 3 rows, (9 − 3)/2 + 1 = 4 columns
        #expect(model.layer("twice")?.outputShape == .chw(4, 6, 8))
        // floor(3 · 2.5) = 7, floor(4 · 2.5) = 10
        #expect(model.layer("odd")?.outputShape == .chw(4, 7, 10))
        #expect(model.layer("sized")?.outputShape == .chw(4, 5, 6))
        #expect(model.layer("square")?.outputShape == .chw(4, 8, 8))
        #expect(model.layer("back")?.outputShape == .chw(4, 7, 9))
        #expect(model.layer("back")?.inputs == [model.layer("twice")!.id])
        #expect(model.layer("odd")?.op == .upsample(Upsampling(mode: .bilinear, alignCorners: false, scale: 2.5)))
        #expect(model.layer("sized")?.op == .upsample(Upsampling(mode: .nearest, alignCorners: false, scale: nil)))
        // no parameters or MACs; bilinear counts three operations per output (two lerps' worth)
        #expect(model.layer("back")?.macs == 0)
        #expect(model.layer("back")?.otherOps == 4 * 7 * 9 * 3)
    }

    @Test func upsampleCoordinatesFollowPyTorch() {
        // 4 → 8 with half-pixel centres: o = 0 reads max(0.5 · 0.5 − 0.5, 0) = 0; o = 3 reads 1.25; o = 7 reads
        // 3.25, whose upper neighbour is clamped to pixel 3
        let bilinear = Upsampling(mode: .bilinear, alignCorners: false, scale: nil)
        let taps = bilinear.linearTaps(input: 4, output: 8)
        #expect(taps[0] == .init(lower: 0, upper: 1, weight: 0))
        #expect(taps[3] == .init(lower: 1, upper: 2, weight: 0.25))
        #expect(taps[7] == .init(lower: 3, upper: 3, weight: 0.25))
        // aligned corners, 3 → 5: o · 2/4, so o = 1 reads 0.5 and o = 4 reads pixel 2 exactly
        let aligned = Upsampling(mode: .bilinear, alignCorners: true, scale: nil).linearTaps(input: 3, output: 5)
        #expect(aligned[1] == .init(lower: 0, upper: 1, weight: 0.5))
        #expect(aligned[4] == .init(lower: 2, upper: 2, weight: 0))
        // nearest, 3 → 7 by size: floor(o · 3/7) = 0 0 0 1 1 2 2; 10 → 7 (downsampling): floor(o · 10/7)
        let nearest = Upsampling(mode: .nearest, alignCorners: false, scale: nil)
        #expect(nearest.nearestSources(input: 3, output: 7) == [0, 0, 0, 1, 1, 2, 2])
        #expect(nearest.nearestSources(input: 10, output: 7) == [0, 1, 2, 4, 5, 7, 8])
        // a given scale maps by 1/scale: 4 · 1.5 = 6 outputs, o · 0.6667 → 0 0 1 2 2 3
        let scaled = Upsampling(mode: .nearest, alignCorners: false, scale: 1.5)
        #expect(scaled.nearestSources(input: 4, output: 6) == [0, 0, 1, 2, 2, 3])
    }

    @Test func sliceTakesAChannelRange() throws {
        let model = try compileModel(
            """
            input: [6, 4, 5]
            layers:
              - relu: { name: x }
              - slice: { name: low, end: 2 }
              - slice: { name: high, input: x, start: 2 }
              - slice: { name: middle, input: x, start: 1, end: 4 }
              - concat: { inputs: [high, low, middle] }
            """)
        #expect(model.layer("low")?.outputShape == .chw(2, 4, 5))
        #expect(model.layer("high")?.outputShape == .chw(4, 4, 5))
        #expect(model.layer("middle")?.op == .channelSlice(start: 1, end: 4))
        #expect(model.outputShape == .chw(9, 4, 5))
    }

    @Test func convNeXtsBlockLoadsLinearWeightsPerPixel() throws {
        let model = try compileModel(
            """
            input: [8, 5, 5]
            layers:
              - layer_norm: { name: norm }
              - dense: { name: up, units: 32, per_pixel: true }
              - gelu
              - dense: { name: down, units: 8, per_pixel: true, bias: false }
              - scale: { name: layer_scale }
              - global_avg_pool
              - flatten
              - layer_norm: { name: flat_norm, eps: 0.000001 }
            """)
        #expect(model.layer("norm")?.parameters.map(\.shape) == [[8], [8]])
        #expect(model.layer("norm")?.op == .layerNorm(epsilon: 1e-5))
        // a Linear's [out, in] weight, run as a 1×1 conv: 5·5 pixels · 8 · 32 = 6,400 MACs
        #expect(model.layer("up")?.parameters.map(\.shape) == [[32, 8], [32]])
        #expect(model.layer("up")?.outputShape == .chw(32, 5, 5))
        #expect(model.layer("up")?.macs == 6400)
        #expect(model.layer("down")?.parameters.map(\.shape) == [[8, 32]])
        // the block's own parameter, named by the layer
        #expect(model.layer("layer_scale")?.parameters.map(\.name) == ["layer_scale"])
        #expect(model.layer("layer_scale")?.parameters.map(\.shape) == [[8, 1, 1]])
        #expect(model.layer("flat_norm")?.outputShape == Shape([8]))
        // 16 + 288 + 256 + 8 + 16
        #expect(model.parameterCount == 584)
    }

    @Test func tapsThatReadOnlyPaddingAreDropped() {
        func conv(_ kernel: Int, padding: Int, dilation: Int, depthwise: Bool = false) -> Convolution {
            Convolution(
                inChannels: 960, filters: depthwise ? 960 : 256, kernel: Pair(kernel, kernel), stride: Pair(1, 1),
                padding: Padding(top: padding, bottom: padding, left: padding, right: padding),
                dilation: Pair(dilation, dilation), groups: depthwise ? 960 : 1, bias: false)
        }
        let map = Shape.chw(960, 14, 14)
        // ASPP at rate 24 on 14×14: the outer taps sit 24 pixels out, past every row, so only the centre reads
        // the input; a 1×1 conv without padding gives the same 14×14
        let far = conv(3, padding: 24, dilation: 24).liveTaps(input: map, output: .chw(256, 14, 14))
        #expect(far?.rows == 1..<2 && far?.columns == 1..<2)
        #expect(far?.conv.kernel == Pair(1, 1) && far?.conv.padding == .zero && far?.conv.dilation == Pair(1, 1))
        // rate 12: output row 0 reads row 12 through the lower tap, so every tap lives
        #expect(conv(3, padding: 12, dilation: 12).liveTaps(input: map, output: .chw(256, 14, 14)) == nil)
        // a 5×5 depthwise conv, dilation 6, on 8 rows: taps at −12 and +12 never land; ±6 do (rows 6, 7 and 0, 1)
        let rows = conv(5, padding: 12, dilation: 6, depthwise: true).liveTaps(input: .chw(960, 8, 8), output: .chw(960, 8, 8))
        #expect(rows?.rows == 1..<4 && rows?.conv.padding.top == 6 && rows?.conv.dilation == Pair(6, 6))
        // the cropped weight keeps taps (1, 1) … (3, 3) of each 5×5 kernel, in order
        let weight = (0..<50).map(Float.init)
        let cropped = rows!.crop(weight)
        #expect(cropped.count == 18 && cropped.prefix(4) == [6, 7, 8, 11] && cropped[9] == 31)
    }
}
