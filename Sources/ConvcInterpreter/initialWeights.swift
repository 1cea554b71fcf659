// Seeded weights for any spec, drawn the way PyTorch initialises fresh layers, so every spec can be run and
// compared end to end without a trained model.

import ConvcIR
import ConvcTensorIO

/// xoshiro256** seeded through SplitMix64: fast, and the same stream on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// Uniform in [low, high) with 24 random bits.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}

/// PyTorch's default initialisation for every parameter the model declares, in model order:
/// conv, transposed conv and dense weights and biases U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5),
/// batch norm γ = 1, β = 0, mean = 0, var = 1 (or, with `randomStatistics`, γ, var ∈ U(0.5, 1.5) and
/// β, mean ∈ U(−0.5, 0.5), so that folding batch norm is actually exercised), PReLU slopes 0.25.
public func initialWeights(for model: Model, seed: UInt64, randomStatistics: Bool = false) -> [(name: String, tensor: StoredTensor)] {
    var generator = SeededGenerator(seed: seed)
    var result: [(String, StoredTensor)] = []
    for layer in model.layers {
        let fanIn: Int
        switch layer.op {
        case .conv(let conv): fanIn = conv.inChannels / conv.groups * conv.kernel.h * conv.kernel.w
        case .convTranspose(let conv): fanIn = conv.filters / conv.groups * conv.kernel.h * conv.kernel.w
        case .dense(let inFeatures, _, _, _): fanIn = inFeatures
        case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .activation,
            .prelu, .softmax, .dropout, .flatten, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            fanIn = 1
        }
        let bound = 1 / Float(fanIn).squareRoot()
        for parameter in layer.parameters {
            let count = parameter.elementCount
            let suffix = parameter.name.split(separator: ".").last.map(String.init) ?? ""
            let values: [Float]
            switch layer.op {
            case .batchNorm where suffix == "weight" || suffix == "running_var":
                values = randomStatistics ? (0..<count).map { _ in generator.uniform(0.5, 1.5) } : .init(repeating: 1, count: count)
            case .batchNorm:
                values = randomStatistics ? (0..<count).map { _ in generator.uniform(-0.5, 0.5) } : .init(repeating: 0, count: count)
            case .prelu:
                values = .init(repeating: 0.25, count: count)
            case .layerNorm where suffix == "weight":
                values = randomStatistics ? (0..<count).map { _ in generator.uniform(0.5, 1.5) } : .init(repeating: 1, count: count)
            case .layerNorm:
                values = randomStatistics ? (0..<count).map { _ in generator.uniform(-0.5, 0.5) } : .init(repeating: 0, count: count)
            case .scale:
                values = (0..<count).map { _ in generator.uniform(0.5, 1.5) }
            case .conv, .convTranspose, .dense, .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool,
                .localResponseNorm, .activation, .softmax, .dropout, .flatten, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
                values = (0..<count).map { _ in generator.uniform(-bound, bound) }
            }
            result.append((parameter.name, StoredTensor(shape: parameter.shape, values: values)))
        }
    }
    return result
}

/// A seeded input: uniform in [−1, 1).
public func seededInput(shape: [Int], seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, values: (0..<count).map { _ in generator.uniform(-1, 1) })
}
