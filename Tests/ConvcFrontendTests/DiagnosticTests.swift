// Every diagnostic at its place: the marker in each spec is where the caret must point.

import ConvcDiagnostics
import ConvcFrontend
import Testing

@Suite struct SpecStructureDiagnostics {
    @Test func unknownKindSuggestsTheClosest() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - 1️⃣convolution: { filters: 8, kernel: 3 }
              - 2️⃣batchnorm
            """,
            [
                .init("1️⃣", "unknown layer kind 'convolution'; did you mean 'conv'? (PyTorch's nn.Conv2d, ONNX Conv)"),
                .init("2️⃣", "unknown layer kind 'batchnorm'; did you mean 'batch_norm'? (PyTorch's nn.BatchNorm2d)"),
            ])
    }

    @Test func unknownKindsThatArePyTorchOpsSaySo() {
        // PyTorch's module names map to convc's kinds; ops convc lacks are named as such, not answered with the
        // nearest spelling of another op (before: 'silu' suggested 'relu', 'upsample' 'dropout')
        assertDiagnostics(
            """
            input: [3, 32, 32]
            defaults:
              1️⃣BatchNorm2d: { eps: 0.001 }
            layers:
              - 2️⃣Conv2d: { filters: 8, kernel: 3 }
              - 3️⃣nn.Linear: { units: 4 }
              - 4️⃣swish
              - 5️⃣group_norm
              - 6️⃣nn.Upsample: { scale: 2 }
              - 7️⃣hard_tanh
              - 8️⃣LSTM
            """,
            [
                .init("1️⃣", "unknown layer kind 'BatchNorm2d' in 'defaults'; did you mean 'batch_norm'? (PyTorch's nn.BatchNorm2d)"),
                .init("2️⃣", "unknown layer kind 'Conv2d'; did you mean 'conv'? (PyTorch's nn.Conv2d, ONNX Conv)"),
                .init("3️⃣", "unknown layer kind 'nn.Linear'; did you mean 'dense'? (PyTorch's nn.Linear, ONNX Gemm)"),
                .init("4️⃣", "unknown layer kind 'swish'; did you mean 'silu'? (PyTorch's nn.SiLU)"),
                .init("5️⃣", "unknown layer kind 'group_norm'; PyTorch's nn.GroupNorm is not in convc's language yet (docs/spec-language.md lists the layer kinds)"),
                .init("6️⃣", "unknown layer kind 'nn.Upsample'; did you mean 'upsample'? (PyTorch's F.interpolate, ONNX Resize)"),
                .init("7️⃣", "unknown layer kind 'hard_tanh'; the activation 'hardtanh' is not in convc's language yet (docs/spec-language.md lists the layer kinds)"),
                .init("8️⃣", "unknown layer kind 'LSTM'; PyTorch's nn.LSTM belongs to sequence models; convc compiles convolutional networks"),
            ])
    }

    @Test func unreadLayersAndOneBranchConcatsAreWarned() {
        // a side branch whose output nothing reads, and a concat of one branch: specs that compile, never intended
        assertDiagnostics(
            """
            input: [8, 8, 8]
            layers:
              - conv: { name: a, filters: 8, kernel: 1 }
              - conv: { name: b, filters: 8, kernel: 1, input: input }
              - 1️⃣relu: { name: side, input: a }
              - 2️⃣concat: { name: one, inputs: [b] }
            """,
            [
                .init("1️⃣", "nothing reads the output of 'side'; it is computed and dropped", severity: .warning),
                .init("2️⃣", "'one' concatenates one branch: it is a copy of 'b'", severity: .warning),
            ])
    }

    @Test func aLayerAcceptsTheWarningItMeansToCause() {
        // accepted warnings become notes, so even --strict passes; another layer's warning stays one
        assertDiagnostics(
            """
            input: [3, 224, 224]
            layers:
              - conv: { name: conv1, filters: 8, kernel: 7, stride: 2, accept: DroppedInput }
              - conv: { name: side, filters: 4, kernel: 1, input: conv1, accept: [UnreadLayer, SingleBranchConcat] }
              - conv: { name: c2, filters: 4, kernel: 1, input: conv1 }
            """,
            [], strict: true)
        assertDiagnostics(
            """
            input: [3, 224, 224]
            layers:
              - conv: { name: conv1, filters: 8, kernel: 7, stride: 2, accept: 1️⃣DropedInput }
              - conv: { name: c2, filters: 4, kernel: 1, accept: [UnreadLayer, 2️⃣3] }
            """,
            [
                .init("1️⃣", "'conv.accept' must be a warning's name or a list of them (DroppedInput, UnreadLayer or SingleBranchConcat); found 'DropedInput'"),
                .init("2️⃣", "'conv.accept' must be a warning's name or a list of them (DroppedInput, UnreadLayer or SingleBranchConcat); found 3"),
            ])
        // through a block parameter: evaluated, then checked
        assertDiagnostics(
            """
            input: [3, 224, 224]
            blocks:
              stem(allowed):
                - conv: { name: conv1, filters: 8, kernel: 7, stride: 2, accept: 1️⃣$allowed }
            layers:
              - stem: { allowed: DroppedInput }
              - stem: { name: other, allowed: DroppedInputs }
            """,
            [.init("1️⃣", "'conv.accept' must be a warning's name or a list of them (DroppedInput, UnreadLayer or SingleBranchConcat); found 'DroppedInputs'")])
        // each instance accepts what its own argument names: stem.conv1 its dropped pixel, other.conv1 being unread
        assertDiagnostics(
            """
            input: [3, 224, 224]
            blocks:
              stem(allowed):
                - 1️⃣conv: { name: conv1, filters: 8, kernel: 7, stride: 2️⃣2, accept: $allowed }
            layers:
              - stem: { allowed: DroppedInput }
              - stem: { name: other, allowed: UnreadLayer, input: input }
            """,
            [
                .init("1️⃣", "nothing reads the output of 'stem.conv1'; it is computed and dropped", severity: .warning),
                .init("2️⃣", "'other.conv1': (224 - 7 + 2·0) / 2 + 1 = 109.5 is not a whole number; input row and column 223 are never read", severity: .warning),
            ])
    }

    @Test func aChannelShuffleNeedsGroupsThatDivideTheChannels() {
        assertDiagnostics(
            """
            input: [6, 4, 4]
            layers:
              - channel_shuffle: { groups: 3 }
              - channel_shuffle: { groups: 1️⃣4 }
            """,
            [.init("1️⃣", "'channel_shuffle_1' shuffles 6 channels in 4 groups; groups must divide the channels")])
    }

    @Test func multiplyNeedsEqualShapesOrAPerChannelGate() {
        assertDiagnostics(
            """
            input: [6, 4, 4]
            layers:
              - relu: { name: x }
              - max_pool: { name: half, kernel: 2 }
              - conv: { name: gate, filters: 3, kernel: 1, input: x }
              - multiply: { inputs: [x, 1️⃣half] }
              - global_avg_pool: { name: g3, input: gate }
              - multiply: { inputs: [x, 2️⃣g3] }
              - squeeze_excitation: { squeeze_channels: 3, input: x }
              - flatten: { name: flat }
              - 3️⃣squeeze_excitation: { squeeze_channels: 3 }
              - 4️⃣multiply: { inputs: [flat] }
            """,
            [
                .init("1️⃣", "'multiply' multiplies 'x' (6×4×4) by 'half' (6×2×2); the other input must have the same shape, or 6×1×1 to scale each channel"),
                .init("2️⃣", "'multiply_1' multiplies 'x' (6×4×4) by 'g3' (3×1×1); the other input must have the same shape, or 6×1×1 to scale each channel"),
                .init("3️⃣", "'squeeze_excitation_1' (squeeze_excitation) needs a C×H×W input, but 'flat' gives 96"),
                .init("4️⃣", "'multiply' needs 'inputs' with at least two earlier layers"),
            ])
    }

    @Test func aDenseLayerOnAMapSaysFlattenOrPerPixel() {
        assertDiagnostics(
            """
            input: [4, 3, 3]
            layers:
              - flatten
              - 1️⃣dense: { units: 2, per_pixel: true }
              - 2️⃣dense: { input: input, units: 2 }
            """,
            [
                .init("1️⃣", "'dense' (dense) needs a C×H×W input, but 'flatten' gives 36"),
                .init("2️⃣", "'dense_1' is a dense layer, but the input gives 4×3×3; add '- flatten' before it (4·3·3 = 36 features), or 'per_pixel: true' to apply it to each pixel's channels"),
            ])
    }

    @Test func sliceNeedsARangeInsideTheChannels() {
        assertDiagnostics(
            """
            input: [6, 4, 4]
            layers:
              - relu: { name: x }
              - slice: { end: 1️⃣7 }
              - slice: { input: x, start: 2️⃣3, end: 3 }
              - flatten: { input: x }
              - 3️⃣slice: { end: 2 }
            """,
            [
                .init("1️⃣", "'slice' takes channels 0 ..< 7, but 'x' gives 6; it needs 0 ≤ start < end ≤ 6"),
                .init("2️⃣", "'slice_1' takes channels 3 ..< 3, but 'x' gives 6; it needs 0 ≤ start < end ≤ 6"),
                .init("3️⃣", "'slice_2' (slice) needs a C×H×W input, but 'flatten' gives 96"),
            ])
    }

    @Test func upsampleNeedsExactlyOneSize() {
        assertDiagnostics(
            """
            input: [3, 8, 8]
            layers:
              - relu: { name: x }
              - 1️⃣upsample
              - 2️⃣upsample: { input: x, size: 4, scale: 2 }
              - upsample: { input: x, scale: 3️⃣0.1 }
              - upsample: { input: x, scale: 2, align_corners: 4️⃣true }
              - flatten: { name: flat, input: x }
              - upsample: { input: x, like: 5️⃣flat }
              - upsample: { input: x, like: 6️⃣nowhere }
            """,
            [
                .init("1️⃣", "'upsample' (upsample) needs one of 'size', 'like' or 'scale'"),
                .init("2️⃣", "'upsample_1' (upsample) takes one of 'size', 'like' or 'scale', not 'size' and 'scale'"),
                .init("3️⃣", "'upsample_2' scales 8×8 by 0.1, which gives no pixels; 'scale' must make each side at least 1"),
                .init("4️⃣", "'upsample_3' sets 'align_corners', which only bilinear upsampling has (PyTorch refuses it for nearest)"),
                .init("5️⃣", "'upsample_4' takes its size from 'flat', which gives 192, not a C×H×W map"),
                .init("6️⃣", "no layer is named 'nowhere'"),
            ])
    }

    @Test func transparentBlocksAreCheckedAtTheirKeys() {
        assertDiagnostics(
            """
            input: [3, 8, 8]
            blocks:
              same(filters):
                transparent: true
                layers: [conv: { filters: $filters, kernel: 1 }]
              loose:
                transparent: 1️⃣yes please
                layers: [relu]
              odd:
                2️⃣layer: [relu]
              empty: 3️⃣{ transparent: true }
            layers:
              - same: { 4️⃣name: s, filters: 4 }
              - same: { filters: 4 }
            """,
            [
                .init("1️⃣", "'transparent' of block 'loose' must be true or false"),
                .init("2️⃣", "block 'odd' has no key 'layer'; did you mean 'layers'? a block is a list of layers or { transparent: true, layers: [...] }"),
                .init("3️⃣", "block 'empty' needs 'layers' (a list of layers)"),
                .init("4️⃣", "block 'same' is transparent: its layers are named where it is used, so an instance takes no 'name'"),
            ])
    }

    @Test func unknownKeyIsOneErrorNotAlsoAMissingKey() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv: { filters: 8, 1️⃣kernal: 3 }
              - max_pool: { kernel: 2, 2️⃣strides: 2 }
            """,
            [
                .init("1️⃣", "'conv' has no key 'kernal'; did you mean 'kernel'?"),
                .init("2️⃣", "'max_pool' has no key 'strides'; did you mean 'stride'?"),
            ])
    }

    @Test func wrongValueTypesNameTheExpectedType() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv: { filters: 1️⃣eight, kernel: 3 }
              - conv: { filters: 8, kernel: 2️⃣[3, 3, 3] }
              - conv: { filters: 8, kernel: 3, bias: 3️⃣yes }
              - dropout: { rate: 4️⃣high }
              - gelu: { approximate: 5️⃣fast }
              - conv: { filters: 8, kernel: 1, activation: 6️⃣swish }
            """,
            [
                .init("1️⃣", "'conv.filters' must be a positive integer; found 'eight'"),
                .init("2️⃣", "'conv.kernel' must be a positive integer or [h, w]; found a list of 3"),
                .init("3️⃣", "'conv.bias' must be true or false; found 'yes'"),
                .init("4️⃣", "'dropout.rate' must be a number; found 'high'"),
                .init("5️⃣", "'gelu.approximate' must be 'none' or 'tanh'; found 'fast'"),
                .init("6️⃣", "'conv.activation' must be an activation (relu, relu6, leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu or none); found 'swish'"),
            ])
    }

    @Test func zeroAndNegativeSizesAreRejected() {
        assertDiagnostics(
            """
            input: [3, 1️⃣0, 32]
            layers:
              - conv: { filters: 2️⃣0, kernel: 3 }
              - conv: { filters: 8, kernel: 3, stride: 3️⃣-1 }
            """,
            [
                .init("1️⃣", "input dimensions must be positive integers; found 0"),
                .init("2️⃣", "'conv.filters' must be a positive integer; found 0"),
                .init("3️⃣", "'conv.stride' must be a positive integer or [h, w]; found -1"),
            ])
    }

    @Test func missingRequiredKeysAndTopLevelKeys() {
        assertDiagnostics(
            """
            1️⃣input: [3, 32, 32]
            2️⃣layer:
              - relu
            """,
            [
                .init("1️⃣", "missing 'layers'; list the network's layers under 'layers:'"),
                .init("2️⃣", "unknown top-level key 'layer'; did you mean 'layers'?"),
            ])
    }

    @Test func aLayerWithTwoKindsAsksForIndentation() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv:
                1️⃣filters: 8
            """,
            [
                .init(
                    "1️⃣",
                    "a layer is a mapping with one key, its kind; found 2 keys; indent the other keys under 'conv': e.g. - conv: { … }"
                )
            ])
    }

    @Test func emptyFileAndSeveralDocuments() {
        assertDiagnostics("1️⃣", [.init("1️⃣", "the spec is empty; expected a mapping with 'input' and 'layers'")])
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers: [relu]
            1️⃣---
            input: [1, 1, 1]
            """,
            [.init("1️⃣", "the spec has more than one YAML document; put one model in each file")])
    }

    @Test func yamlSyntaxErrorsUseLibyamlsPosition() {
        assertDiagnostics(
            """
            input: [3, 32, 32
            layers1️⃣: [relu]
            """,
            [.init("1️⃣", "YAML syntax error: did not find expected ',' or ']'")])
    }

    @Test func anUnquotedSubstitutionInAFlowMappingSaysToQuoteIt() throws {
        // `{` inside `{ … }` opens a nested mapping in YAML, so `block${i + 1}` must be quoted there
        let (_, engine) = compileSpec(
            """
            input: [3, 8, 8]
            layers:
              - conv: { name: block${1 + 1}_conv, filters: 4, kernel: 1 }
            """, file: "test.yaml")
        let error = try #require(engine.diagnostics.first { $0.message.hasPrefix("YAML syntax error") })
        let advice = try #require(error.notes.first { $0.message.contains("must be quoted") })
        #expect(advice.message == "inside { … } or [ … ], a value with ${…} must be quoted: \"block${1 + 1}_conv\"")
        #expect(advice.location?.line == 3 && advice.location?.column == 19)
    }
}

@Suite struct ShapeDiagnostics {
    @Test func alexNetAt224DropsTheLastPixel() {
        assertDiagnostics(
            """
            input: [3, 224, 224]
            layers:
              - conv: { name: conv1, filters: 96, kernel: 11, stride: 1️⃣4 }
            """,
            [
                .init(
                    "1️⃣",
                    "'conv1': (224 - 11 + 2·0) / 4 + 1 = 54.25 is not a whole number; input row and column 223 are never read",
                    severity: .warning)
            ])
    }

    @Test func skippingOnlyPaddingIsNotAWarning() throws {
        // ResNet's stride-2 3×3 conv on 56×56: (56 - 3 + 2) / 2 = 27.5, but the skipped column is padding.
        _ = try compileModel(
            """
            input: [64, 56, 56]
            layers:
              - conv: { filters: 128, kernel: 3, stride: 2, padding: 1 }
            """)
        let (_, engine) = compileSpec(
            "input: [64, 56, 56]\nlayers: [conv: { filters: 128, kernel: 3, stride: 2, padding: 1 }]", file: "t.yaml")
        #expect(engine.diagnostics.isEmpty)
    }

    @Test func strictMakesDroppedPixelsAnError() {
        assertDiagnostics(
            """
            input: [1, 28, 28]
            layers:
              - conv: { name: c1, filters: 6, kernel: 5 }
              - conv: { name: c2, filters: 16, kernel: 5, stride: 1️⃣3 }
            """,
            [
                .init(
                    "1️⃣",
                    "'c2': (24 - 5 + 2·0) / 3 + 1 = 7.33 is not a whole number; input row and column 23 are never read")
            ],
            strict: true)
    }

    @Test func kernelLargerThanItsPaddedInput() {
        assertDiagnostics(
            """
            input: [3, 4, 4]
            layers:
              - conv: { name: big, filters: 8, kernel: 1️⃣7, padding: 1 }
              - relu
            """,
            [
                .init(
                    "1️⃣",
                    "'big': (4 - 7 + 2·1) / 1 + 1 = 0 leaves no output; the 7×7 kernel is larger than the padded 6×6 input"
                )
            ])
    }

    @Test func groupsMustDivideChannels() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv: { name: c, filters: 8, kernel: 3, groups: 1️⃣2 }
            """,
            [.init("1️⃣", "'c': groups 2 does not divide the 3 input channels")])
    }

    @Test func denseOnAFeatureMapSuggestsFlatten() {
        assertDiagnostics(
            """
            input: [512, 7, 7]
            layers:
              - global_avg_pool: { name: avgpool }
              - 1️⃣dense: { name: fc, units: 1000 }
            """,
            [
                .init(
                    "1️⃣",
                    "'fc' is a dense layer, but 'avgpool' gives 512×1×1; add '- flatten' before it (512·1·1 = 512 features), or 'per_pixel: true' to apply it to each pixel's channels"
                )
            ])
    }

    @Test func residualShapeMismatchNamesBothSides() {
        assertDiagnostics(
            """
            input: [64, 56, 56]
            layers:
              - 1️⃣residual:
                  body:
                    - conv: { name: conv1, filters: 128, kernel: 3, stride: 2, padding: 1 }
            """,
            [
                .init(
                    "1️⃣",
                    "'add' adds the body's 128×28×28 to the shortcut's 64×56×56; use 'shortcut: auto' to project the input with a 1×1 conv"
                )
            ])
    }

    @Test func concatBranchesMustAgreeOnHeightAndWidth() {
        assertDiagnostics(
            """
            input: [64, 28, 28]
            layers:
              - 1️⃣concat:
                  name: mixed
                  branches:
                    - conv: { name: a, filters: 32, kernel: 1 }
                    - max_pool: { name: b, kernel: 3, stride: 1 }
            """,
            [
                .init(
                    "1️⃣",
                    "'mixed' concatenates on channels, so every branch needs the same height and width; branch 1 gives 32×28×28 ('a') but branch 2 gives 64×26×26 ('b')"
                )
            ])
    }

    @Test func oneMistakeGivesOneError() {
        // The bad conv poisons everything after it: no cascade of dense/expect errors.
        assertDiagnostics(
            """
            input: [3, 32, 32]
            expect: { params: 1 }
            layers:
              - conv: { filters: 8, kernel: 3, groups: 1️⃣2 }
              - flatten
              - dense: { units: 10 }
              - dense: { units: 10 }
            """,
            [.init("1️⃣", "'conv': groups 2 does not divide the 3 input channels")])
    }

    @Test func expectMismatchShowsExpectedAndComputed() {
        assertDiagnostics(
            """
            input: [1, 32, 32]
            expect: { params: 1️⃣61000, macs: 2️⃣416520, output: 3️⃣[12] }
            layers:
              - conv: { name: conv1, filters: 6, kernel: 5 }
              - max_pool: { kernel: 2 }
              - conv: { name: conv2, filters: 16, kernel: 5 }
              - max_pool: { kernel: 2 }
              - flatten
              - dense: { name: fc1, units: 120 }
              - dense: { name: fc2, units: 84 }
              - dense: { name: fc3, units: 10 }
            """,
            [
                .init("1️⃣", "expected 61,000 parameters, computed 61,706 (706 more)"),
                .init("3️⃣", "expected output 12, computed 10"),
            ])
    }
}

@Suite struct NameAndBlockDiagnostics {
    @Test func duplicateAndUnknownNames() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv: { name: stem, filters: 8, kernel: 3 }
              - conv: { name: 1️⃣stem, filters: 8, kernel: 3 }
              - add: { inputs: [stem, 2️⃣stme] }
            """,
            [
                .init("1️⃣", "duplicate layer name 'stem'"),
                .init("2️⃣", "no layer is named 'stme'; did you mean 'stem'?"),
            ])
    }

    @Test func unknownBlockArgumentsAndMissingOnes() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            blocks:
              unit(filters, stride = 1):
                - conv: { filters: $filters, kernel: 3, stride: $stride, padding: 1 }
            layers:
              - unit: { filters: 8, 1️⃣strides: 2 }
              - 2️⃣unit: { stride: 2 }
            """,
            [
                .init("1️⃣", "block 'unit' has no parameter 'strides'; did you mean 'stride'?"),
                .init("2️⃣", "missing argument 'filters' for block 'unit'"),
            ])
    }

    @Test func undefinedParameterInsideABlock() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            blocks:
              unit(filters):
                - conv: { filters: 1️⃣$filter, kernel: 3 }
            layers:
              - unit: { filters: 8 }
              - unit: { filters: 16 }
            """,
            [.init("1️⃣", "block 'unit' has no parameter 'filter'; did you mean '$filters'?")])
    }

    @Test func recursiveBlocksAreAnErrorNotAHang() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            blocks:
              a(n):
                - b: { n: $n }
              b(n):
                - 1️⃣a: { n: $n }
            layers:
              - a: { n: 1 }
            """,
            [.init("1️⃣", "block 'a' instantiates itself (a → b → a); blocks cannot be recursive")])
    }

    @Test func arithmeticOverflowAndInexactDivision() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            blocks:
              unit(n):
                - conv: { filters: 1️⃣$n * $n, kernel: 3 }
                - conv: { filters: 2️⃣$n / 3, kernel: 3 }
            layers:
              - unit: { n: 4611686018427387903 }
              - unit: { n: 8 }
            """,
            [
                .init("1️⃣", "4611686018427387903 * 4611686018427387903 overflows 64-bit integers"),
                .init("2️⃣", "'conv.filters' is 1537228672809129301; convc accepts at most 16,777,216"),
                .init("2️⃣", "8 / 3 is not a whole number; use // to round down"),
            ])
    }

    @Test func forwardReferencesSayTheLayerComesLater() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            layers:
              - conv: { name: c1, filters: 8, kernel: 3 }
              - conv: { name: c2, input: 1️⃣c3, filters: 8, kernel: 3 }
              - conv: { name: c3, filters: 8, kernel: 3 }
            """,
            [.init("1️⃣", "'c3' is defined later; a layer can only read layers before it")])
    }

    @Test func unknownBlockSuggestsADefinedBlockOrListsThem() {
        assertDiagnostics(
            """
            input: [3, 32, 32]
            blocks:
              basic(filters): [conv: { filters: $filters, kernel: 3 }]
              stem(filters): [conv: { filters: $filters, kernel: 7 }]
            layers:
              - 1️⃣basic_block: { filters: 8 }
              - 2️⃣unit: { filters: 8 }
            """,
            [
                .init("1️⃣", "unknown layer kind 'basic_block'; did you mean 'basic'?"),
                .init("2️⃣", "unknown layer kind 'unit'; the spec's blocks are 'basic', 'stem'"),
            ])
    }
}

@Suite struct WarningPlacement {
    @Test func aMisalignedInputIsReportedOnceWhereItStarts() {
        // conv1 drops a pixel; the pools after it inherit odd sizes but do not warn again.
        assertDiagnostics(
            """
            input: [3, 224, 224]
            layers:
              - conv: { name: conv1, filters: 96, kernel: 11, stride: 1️⃣4 }
              - max_pool: { name: pool1, kernel: 3, stride: 2 }
              - max_pool: { name: pool2, kernel: 3, stride: 2 }
            """,
            [
                .init(
                    "1️⃣",
                    "'conv1': (224 - 11 + 2·0) / 4 + 1 = 54.25 is not a whole number; input row and column 223 are never read",
                    severity: .warning)
            ])
    }

    @Test func aValueFromDefaultsIsReportedAtTheLayer() {
        assertDiagnostics(
            """
            input: [3, 2, 2]
            defaults:
              max_pool: { kernel: 2 }
            layers:
              - max_pool: { name: p1 }
              - 1️⃣max_pool: { name: p2 }
            """,
            [
                .init(
                    "1️⃣",
                    "'p2': (1 - 2 + 2·0) / 2 + 1 = 0.5 leaves no output; the 2×2 window is larger than the padded 1×1 input"
                )
            ])
    }
    @Test func duplicateKeysInExpectAndDefaultsAreErrorsAsEverywhereElse() {
        assertDiagnostics(
            """
            input: [3, 8, 8]
            expect: { params: 224, 1️⃣params: 1 }
            defaults:
              conv: { kernel: 3, 2️⃣kernel: 5 }
              3️⃣conv: { padding: 1 }
            layers:
              - conv: { filters: 8 }
            """,
            [
                .init("1️⃣", "duplicate key 'params' in 'expect'"),
                .init("2️⃣", "duplicate key 'kernel' in 'defaults.conv'"),
                .init("3️⃣", "duplicate key 'conv' in 'defaults'"),
            ])
    }

    @Test func aReferenceToALayerThatFailedIsNotASecondError() {
        assertDiagnostics(
            """
            input: [3, 8, 8]
            layers:
              - conv: { name: a, filters: 4, kernel: 1️⃣9 }
              - relu: { name: b, input: a }
              - add: { inputs: [a, b] }
            """,
            [.init("1️⃣", "'a': (8 - 9 + 2·0) / 1 + 1 = 0 leaves no output; the 9×9 kernel is larger than the padded 8×8 input")])
    }
}
