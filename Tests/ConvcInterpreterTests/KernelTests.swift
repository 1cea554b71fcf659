// Each op against a naive implementation of its definition or a case worked out by hand.

import ConvcIR
import ConvcInterpreter
import ConvcTensorIO
import Foundation
import Testing

@Suite struct Convolutions {
    struct Case: CustomStringConvertible, Sendable {
        var channels: Int, size: (Int, Int), filters: Int, kernel: (Int, Int), stride: (Int, Int)
        var padding: [Int], dilation: (Int, Int), groups: Int, bias: Bool
        var description: String { "\(channels)→\(filters) k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(channels: 3, size: (9, 9), filters: 5, kernel: (3, 3), stride: (1, 1), padding: [1, 1, 1, 1], dilation: (1, 1), groups: 1, bias: true),
        Case(channels: 4, size: (11, 8), filters: 6, kernel: (3, 2), stride: (2, 3), padding: [0, 1, 2, 0], dilation: (1, 1), groups: 2, bias: false),
        Case(channels: 2, size: (12, 12), filters: 3, kernel: (3, 3), stride: (1, 1), padding: [2, 2, 2, 2], dilation: (2, 2), groups: 1, bias: true),
        Case(channels: 6, size: (7, 7), filters: 6, kernel: (1, 1), stride: (1, 1), padding: [0, 0, 0, 0], dilation: (1, 1), groups: 3, bias: true),
        Case(channels: 8, size: (10, 10), filters: 8, kernel: (3, 3), stride: (2, 2), padding: [1, 1, 1, 1], dilation: (1, 1), groups: 8, bias: true),
        // Stride-1 depthwise convs run on padded planes: MobileNet v3's 5×5 on 7×7, and a dilated one padded unevenly.
        Case(channels: 16, size: (7, 7), filters: 16, kernel: (5, 5), stride: (1, 1), padding: [2, 2, 2, 2], dilation: (1, 1), groups: 16, bias: true),
        Case(channels: 8, size: (9, 6), filters: 8, kernel: (3, 3), stride: (1, 1), padding: [1, 3, 0, 2], dilation: (2, 1), groups: 8, bias: false),
        Case(channels: 40, size: (13, 13), filters: 37, kernel: (3, 3), stride: (1, 1), padding: [1, 1, 1, 1], dilation: (1, 1), groups: 1, bias: true),
        Case(channels: 300, size: (3, 3), filters: 5, kernel: (1, 1), stride: (1, 1), padding: [0, 0, 0, 0], dilation: (1, 1), groups: 1, bias: false),
    ]

    @Test(arguments: cases)
    func convolutionMatchesItsDefinition(_ c: Case) throws {
        let m = try model(
            """
            input: [\(c.channels), \(c.size.0), \(c.size.1)]
            layers:
              - conv: { name: c, filters: \(c.filters), kernel: [\(c.kernel.0), \(c.kernel.1)], stride: [\(c.stride.0), \(c.stride.1)], padding: \(c.padding), dilation: [\(c.dilation.0), \(c.dilation.1)], groups: \(c.groups), bias: \(c.bias) }
            """)
        let (weightSet, raw) = try weights(m)
        let input = seededInput(shape: [2, c.channels, c.size.0, c.size.1], seed: 3)
        let out = m.outputShape
        let expected = naiveConvolution(
            input.values, n: 2, c: c.channels, h: c.size.0, w: c.size.1, weight: raw["c.weight"]!, bias: raw["c.bias"],
            filters: c.filters, kernel: c.kernel, stride: c.stride, padding: (c.padding[0], c.padding[2]),
            dilation: c.dilation, groups: c.groups, out: (out.height, out.width))
        for threads in [1, 2] {
            let result = try Interpreter(model: m, weights: weightSet, threads: threads).run(input)
            #expect(result.shape == [2] + out.dims)
            #expect(relativeError(result.values, expected) < 1e-5)
        }
    }

    @Test func transposedConvolutionScattersEveryInput() throws {
        // One input pixel of value 1 at (0, 0) and (1, 1) of a 2×2 map, weight 1…4 on a 2×2 kernel, stride 2:
        // each input pixel writes the kernel into its own 2×2 block of the 4×4 output.
        let m = try model(
            """
            input: [1, 2, 2]
            layers:
              - conv_transpose: { name: up, filters: 1, kernel: 2, stride: 2 }
            """)
        let set = try WeightSet(model: m, tensors: [
            "up.weight": StoredTensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4]),
            "up.bias": StoredTensor(shape: [1], values: [0.5]),
        ])
        let result = try Interpreter(model: m, weights: set).run(Tensor(shape: [1, 2, 2], values: [1, 0, 0, 2]))
        #expect(result.values == [
            1.5, 2.5, 0.5, 0.5,
            3.5, 4.5, 0.5, 0.5,
            0.5, 0.5, 2.5, 4.5,
            0.5, 0.5, 6.5, 8.5,
        ])
    }

    @Test func batchNormIsFoldedWithoutChangingTheResult() throws {
        let folded = try model(
            """
            input: [3, 8, 8]
            layers:
              - conv: { name: c, filters: 4, kernel: 3, padding: 1 }
              - batch_norm: { name: bn }
              - relu
            """)
        let (set, raw) = try weights(folded)
        let input = seededInput(shape: [1, 3, 8, 8], seed: 5)
        let result = try Interpreter(model: folded, weights: set).run(input)
        var conv = naiveConvolution(
            input.values, n: 1, c: 3, h: 8, w: 8, weight: raw["c.weight"]!, bias: raw["c.bias"], filters: 4,
            kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1, out: (8, 8))
        for f in 0..<4 {
            let scale = raw["bn.weight"]![f] / (raw["bn.running_var"]![f] + 1e-5).squareRoot()
            for p in 0..<64 {
                let v = (conv[f * 64 + p] - raw["bn.running_mean"]![f]) * scale + raw["bn.bias"]![f]
                conv[f * 64 + p] = max(v, 0)
            }
        }
        #expect(relativeError(result.values, conv) < 1e-5)
    }
}

@Suite struct Pooling {
    @Test func ceilModeMaxPoolKeepsTheLastPartialWindowAndUnpoolRestoresPositions() throws {
        let m = try model(
            """
            input: [1, 3, 3]
            layers:
              - max_pool: { name: pool, kernel: 2, stride: 2, ceil_mode: true, return_indices: true }
              - max_unpool: { name: unpool, indices: pool }
            """)
        let set = try WeightSet(model: m, tensors: [:])
        let x: [Float] = [
            1, 5, 2,
            4, 3, 9,
            7, 8, 6,
        ]
        let result = try Interpreter(model: m, weights: set).run(Tensor(shape: [1, 3, 3], values: x))
        // windows {1,5,4,3} → 5 at (0,1); {2,9} → 9 at (1,2); {7,8} → 8 at (2,1); {6} → 6 at (2,2)
        #expect(result.values == [
            0, 5, 0,
            0, 0, 9,
            0, 8, 6,
        ])
    }

    @Test(arguments: [
        // 2×2 input [1 2; 3 4], 2×2 windows, stride 1, padding 1: a 3×3 output whose windows hold 1, 2 or 4 pixels
        (true, [Float](arrayLiteral: 0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1)),
        (false, [Float](arrayLiteral: 1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4)),
    ])
    func averagePoolDivisorFollowsCountIncludePad(include: Bool, expected: [Float]) throws {
        let m = try model(
            """
            input: [1, 2, 2]
            layers:
              - avg_pool: { kernel: 2, stride: 1, padding: 1, count_include_pad: \(include) }
            """)
        let result = try Interpreter(model: m, weights: try WeightSet(model: m, tensors: [:]))
            .run(Tensor(shape: [1, 2, 2], values: [1, 2, 3, 4]))
        #expect(result.values == expected)
    }

    @Test func adaptivePoolUsesPyTorchsOverlappingWindows() throws {
        // 5 → 3: windows [0, 2), [1, 4), [3, 5)
        let m = try model("input: [1, 1, 5]\nlayers: [adaptive_avg_pool: { output: [1, 3] }]")
        let result = try Interpreter(model: m, weights: try WeightSet(model: m, tensors: [:]))
            .run(Tensor(shape: [1, 1, 5], values: [1, 2, 3, 4, 5]))
        #expect(result.values == [1.5, 3, 4.5])
    }
}

@Suite struct ElementwiseOps {
    @Test func localResponseNormMatchesPyTorchsFormula() throws {
        let m = try model("input: [3, 1, 1]\nlayers: [local_response_norm: { size: 3, alpha: 0.3, beta: 0.5, k: 2 }]")
        let result = try Interpreter(model: m, weights: try WeightSet(model: m, tensors: [:]))
            .run(Tensor(shape: [3, 1, 1], values: [1, 2, 3]))
        // b_c = a_c / (k + α/n · Σ a²)^β over channels c−1…c+1
        let expected: [Float] = [
            1 / (2 + 0.1 * (1 + 4)).squareRoot(), 2 / (2 + 0.1 * (1 + 4 + 9)).squareRoot(),
            3 / (2 + 0.1 * (4 + 9)).squareRoot(),
        ]
        #expect(relativeError(result.values, expected) < 1e-6)
    }

    @Test func softmaxPreluChannelPadAndActivations() throws {
        let m = try model(
            """
            input: [2, 1, 2]
            layers:
              - prelu: { name: p, per_channel: true }
              - channel_pad: { channels: 3 }
              - softmax
            """)
        let set = try WeightSet(model: m, tensors: ["p.weight": StoredTensor(shape: [2], values: [0.5, 0.25])])
        let result = try Interpreter(model: m, weights: set).run(Tensor(shape: [2, 1, 2], values: [-2, 1, 4, -4]))
        // prelu: [-1, 1] and [4, -1]; padded channel 0; softmax over the three channels at each pixel
        func softmax(_ v: [Float]) -> [Float] {
            let e = v.map { expf($0) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        let p0 = softmax([-1, 4, 0]), p1 = softmax([1, -1, 0])
        #expect(relativeError(result.values, [p0[0], p1[0], p0[1], p1[1], p0[2], p1[2]]) < 1e-6)
    }
}
