// Every layer kind a spec can write: the one table the frontend's schema, its checks, the reports, the docs and
// every back end's switches derive from.

/// A layer kind, spelled as users write it. Adding a case makes every exhaustive switch over kinds or ops fail to
/// compile until it handles the new kind: the schema (`LayerSchema`), the checker (`elaborateLeaf`), the
/// interpreter, the emitter and the receptive-field analysis (see docs/development.md).
public enum LayerKind: String, CaseIterable, Hashable, Sendable {
    case conv
    case convTranspose = "conv_transpose"
    case maxPool = "max_pool"
    case avgPool = "avg_pool"
    case globalAvgPool = "global_avg_pool"
    case globalMaxPool = "global_max_pool"
    case adaptiveAvgPool = "adaptive_avg_pool"
    case maxUnpool = "max_unpool"
    case batchNorm = "batch_norm"
    case localResponseNorm = "local_response_norm"
    case layerNorm = "layer_norm"
    case scale
    case relu
    case relu6
    case leakyReLU = "leaky_relu"
    case prelu
    case sigmoid
    case tanh
    case silu
    case hardswish
    case hardsigmoid
    case gelu
    case softmax
    case dropout
    case spatialDropout = "spatial_dropout"
    case flatten
    case dense
    case add
    case multiply
    case concat
    case channelPad = "channel_pad"
    case channelShuffle = "channel_shuffle"
    case slice
    case squeezeExcitation = "squeeze_excitation"
    case upsample
    case identity
    case group
    case `repeat`
    case residual

    /// The spelling in specs, e.g. `max_pool`.
    public var spelling: String { rawValue }

    /// What the kind nests: leaves compute, the others arrange nested layers.
    public var structure: Structure {
        switch self {
        case .group: .group
        case .repeat: .repeatBlock
        case .residual: .residual
        case .concat: .concat
        case .conv, .convTranspose, .maxPool, .avgPool, .globalAvgPool, .globalMaxPool, .adaptiveAvgPool, .maxUnpool,
            .batchNorm, .localResponseNorm, .layerNorm, .scale, .relu, .relu6, .leakyReLU, .prelu, .sigmoid, .tanh, .silu, .hardswish,
            .hardsigmoid, .gelu, .softmax, .dropout, .spatialDropout, .flatten, .dense, .add, .multiply, .channelPad, .channelShuffle,
            .slice, .squeezeExcitation, .upsample, .identity:
            .leaf
        }
    }

    /// What a kind nests. `concat` is a leaf when it names its inputs and a structure when it has branches.
    public enum Structure: Hashable, Sendable {
        case leaf, group, repeatBlock, residual, concat
    }

    /// The kinds that are element-wise activations, also the values `activation:` accepts on a conv or dense layer.
    public static let activations: [LayerKind] = allCases.filter { Activation($0) != nil }
}

extension Activation {
    /// The activation a layer kind names, with leaky ReLU's `slope` (PyTorch's default 0.01) and whether GELU
    /// takes the tanh approximation (PyTorch's default: no); nil for the kinds that are not activations.
    public init?(_ kind: LayerKind, slope: Double = 0.01, tanhApproximation: Bool = false) {
        switch kind {
        case .relu: self = .relu
        case .relu6: self = .relu6
        case .leakyReLU: self = .leakyReLU(slope: slope)
        case .sigmoid: self = .sigmoid
        case .tanh: self = .tanh
        case .silu: self = .silu
        case .hardswish: self = .hardswish
        case .hardsigmoid: self = .hardsigmoid
        case .gelu: self = .gelu(tanh: tanhApproximation)
        case .conv, .convTranspose, .maxPool, .avgPool, .globalAvgPool, .globalMaxPool, .adaptiveAvgPool,
            .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .prelu, .softmax, .dropout, .spatialDropout, .flatten,
            .dense, .add, .multiply, .concat, .channelPad, .channelShuffle, .slice, .squeezeExcitation, .upsample,
            .identity, .group, .repeat, .residual:
            return nil
        }
    }

    public var layerKind: LayerKind {
        switch self {
        case .relu: .relu
        case .relu6: .relu6
        case .leakyReLU: .leakyReLU
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .silu: .silu
        case .hardswish: .hardswish
        case .hardsigmoid: .hardsigmoid
        case .gelu: .gelu
        }
    }
}

extension Op {
    /// The kind a spec writes for this op; nil for the model input, which the top-level `input:` declares.
    public var layerKind: LayerKind? {
        switch self {
        case .input: nil
        case .conv: .conv
        case .convTranspose: .convTranspose
        case .pool(let p): p.kind == .max ? .maxPool : .avgPool
        case .globalPool(let kind): kind == .max ? .globalMaxPool : .globalAvgPool
        case .adaptiveAvgPool: .adaptiveAvgPool
        case .maxUnpool: .maxUnpool
        case .batchNorm: .batchNorm
        case .localResponseNorm: .localResponseNorm
        case .layerNorm: .layerNorm
        case .scale: .scale
        case .activation(let a): a.layerKind
        case .prelu: .prelu
        case .softmax: .softmax
        case .dropout(_, let spatial): spatial ? .spatialDropout : .dropout
        case .flatten: .flatten
        case .dense: .dense
        case .add: .add
        case .multiply: .multiply
        case .concat: .concat
        case .channelPad: .channelPad
        case .channelShuffle: .channelShuffle
        case .upsample: .upsample
        case .channelSlice: .slice
        case .identity: .identity
        }
    }
}
