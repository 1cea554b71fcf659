// What each step's function computes, decided before any Swift is written. Lowering reads nothing else, so two
// steps with equal plans share one function.

import ConvcIR

/// One step's kernel and everything it was given: shapes, layouts, weight layout, scratch and fusions.
struct KernelPlan: Hashable {
    var kernel: Kernel
    /// The shapes of the layer's inputs (a fused residual is not among them: see `epilogue`).
    var inputs: [Shape]
    var output: Shape
    /// Tensors the function takes: the inputs, then a fused residual.
    var arguments: Int
    /// Which of the first input and the output are NCHWc.
    var layout: NCHWcSides
    var epilogue: Epilogue
    /// The function's parameters in the weight buffer, nil where it has none.
    var weights: WeightLayout?
    /// Floats of scratch the function uses (for padded copies of its input); 0 where it takes none.
    var scratchFloats: Int
    /// Whether it splits its work over a thread count it is passed.
    var takesThreads: Bool
    /// A max pool that writes its argmax indices, or a max_unpool that reads them.
    var indices: IndexUse?

    /// What a step does with a max pool's argmax indices.
    enum IndexUse: Hashable { case writes, reads }

    /// The argument that holds the fused residual: `x1` for a conv plus a shortcut.
    var residualArgument: String { "x\(arguments - 1)" }
}

/// What a kernel's output loop applies to its sums: the fused residual (the last argument), then an activation.
struct Epilogue: Hashable {
    var residual = false
    var activation: Activation?
}

/// A step's parameters: weights then bias, in the order the kernel reads them.
struct WeightLayout: Hashable {
    /// Floats from the first weight to the bias.
    var biasOffset: Int
    /// Floats of weights and bias together.
    var count: Int
    /// How loading rearranges PyTorch's layout for the kernel.
    var arrangement: WeightArrangement
    /// A conv's taps that read the input, when loading keeps only those.
    var liveTaps: Convolution.LiveTaps? = nil
}

/// The order a kernel reads its weights in, which loading produces from PyTorch's.
enum WeightArrangement: Hashable {
    /// PyTorch's own layout (dense, transposed conv, depthwise NCHW, batch norm's scale and shift, PReLU's slopes).
    case pytorch
    /// Blocks of `block` filters, each tap's filters consecutive (zero filters pad the last block).
    case filterBlocks(block: Int)
    /// Blocks of 32 filters for channel-vector convs.
    case channelVectors
    /// Winograd's transformed filters, G g Gᵀ.
    case winograd
    /// A depthwise conv's taps with eight channels side by side (NCHWc).
    case interleavedTaps
}

/// The kernel a step runs, with the decisions made for it.
enum Kernel: Hashable {
    /// `Convolution`'s bias flag and activation are left out (the weight layout and the epilogue hold them), so
    /// convs that differ only there share a function.
    case convolution(Convolution, ConvolutionAlgorithm)
    case transposedConvolution(Convolution)
    case dense(inFeatures: Int, units: Int)
    /// A max pool on sixteen-pixel vectors over a row `columns` wide bordered with −∞. Pools, like convs, are
    /// kept to what their kernels read (`Pooling.geometry`).
    case vectorMaxPool(Pooling, columns: Int)
    /// A pool pixel by pixel (average pools, and max pools that keep indices).
    case pool(Pooling)
    case globalPool(Pooling.Kind)
    /// A global average pool of an NCHWc input.
    case nchwcAveragePool
    case adaptiveAveragePool(Pair)
    case maxUnpool
    /// A batch norm that is not folded: scale and shift per channel.
    case batchNorm
    case localResponseNorm(size: Int, alpha: Double, beta: Double, k: Double)
    /// Over each pixel's channels, a plane of pixels at a time: weight then bias per channel.
    case layerNorm(epsilon: Double)
    /// The epilogue's activation on its own.
    case activation
    case prelu
    case softmax
    case add
    /// The product of its inputs; a C×1×1 input scales each channel of the others.
    case multiply
    case concat
    case channelPad
    /// Channel c · groups + g from input channel g · (C / groups) + c, a plane at a time.
    case channelShuffle(groups: Int)
    /// Nearest or bilinear resizing of each plane to the output's size.
    case upsample(Upsampling)
    /// Channels from `start` on: one contiguous copy.
    case channelSlice(start: Int)
    /// An op whose output is its input (never planned as a step; a copy if one were).
    case copy
}

/// How a conv is computed, with its tiles, bands and copies.
enum ConvolutionAlgorithm: Hashable {
    case depthwise(DepthwisePlan)
    case nchwcDepthwise
    case channelVectors(ChannelVectorPlan)
    case pixelGroups(PixelGroupPlan)
    case winograd(WinogradPlan)
    case pointwise(PointwisePlan)
    case flat(FlatPlan)
    case blocked(BlockedPlan)

    var kind: ConvolutionKind {
        switch self {
        case .depthwise, .nchwcDepthwise: .depthwise
        case .channelVectors: .channelVectors
        case .pixelGroups: .pixelGroups
        case .winograd: .winograd
        case .pointwise: .pointwise
        case .flat: .flat
        case .blocked(let plan): plan.padded == nil ? .pointwise : .blocked
        }
    }

    /// Floats of scratch the kernel's copies take, read off the plan: a padded or subsampled copy of the input, a
    /// flat conv's planes and the tile its last chunk reads past them, Winograd's padded input, transformed inputs
    /// and products. Depthwise convs pad each channel on the thread's own stack.
    func scratchFloats(inChannels: Int, pixelTile: Int) -> Int {
        switch self {
        case .depthwise, .nchwcDepthwise, .pointwise: 0
        case .channelVectors(let plan): plan.padded.map { inChannels * $0.rows * $0.columns } ?? 0
        case .pixelGroups(let plan): plan.source.copied ? inChannels * plan.source.rows * plan.source.columns : 0
        case .winograd(let plan): plan.paddedFloats + plan.transformedFloats + plan.productFloats
        case .flat(let plan): inChannels * plan.phases * plan.rows * plan.columns + pixelTile
        case .blocked(let plan): plan.padded.map { inChannels * $0.rows * $0.columns } ?? 0
        }
    }
}

/// A zero-padded copy of an input's planes.
struct PaddedPlanes: Hashable {
    var rows: Int
    var columns: Int
}

/// A depthwise conv on NCHW tensors: each channel padded into a plane on the thread's stack.
struct DepthwisePlan: Hashable {
    var padded: PaddedPlanes
    /// Stride 2: each padded plane split into four phase planes of `phaseRows` × `phaseColumns`.
    var phased: Bool
    var phaseRows: Int
    var phaseColumns: Int
    /// Two planes take turns on small maps (the next channel is copied while this one is computed).
    var planes: Int
    /// Output rows summed at once, four independent sums.
    var rows: Int

    var planeFloats: Int { phased ? 4 * phaseRows * phaseColumns : padded.rows * padded.columns }
}

/// Vectors of sixteen output channels × a row segment of pixels, each input value broadcast.
struct ChannelVectorPlan: Hashable {
    /// Pixels of an output row per tile.
    var pixels: Int
    /// Output rows per band, whose input rows stay in L2 while every block reads them.
    var bandRows: Int
    /// The zero-padded copy read, nil where the input is read directly.
    var padded: PaddedPlanes?
    /// A 1×1 stride-1 conv's planes seen as one long row, so segments cross row ends.
    var flattened: Bool
}

/// Vectors of output channels × a group of output pixels anywhere in the map, each input value broadcast.
struct PixelGroupPlan: Hashable {
    var tile: GroupTile
    /// Input channels per chunk, nil where the kernel sums them all at once.
    var chunk: Int?
    /// What it reads: the input itself or a (zero-padded, skewed or subsampled) copy.
    var source: PixelGroupSource
    /// Groups of pixels per band.
    var bandGroups: Int
    /// The residual and the relu run as a vector pass over each block's planes after the sums.
    var residualPass: Bool
}

/// The planes a pixel-group conv reads.
struct PixelGroupSource: Hashable {
    var rows: Int
    var columns: Int
    /// A copy in scratch, not the input.
    var copied: Bool
    /// A strided 1×1 conv's copy of just the pixels it reads, read at stride 1.
    var subsampled: Bool
}

/// A block of filters × vectors of pixels of a 1×1 stride-1 conv, in bands of pixels.
struct PointwisePlan: Hashable {
    /// Pixels per band, whose input stays in L1 and L2 while every filter block reads it.
    var band: Int
}

/// A conv over the flat positions of its zero-padded input (one plane, or four phase planes for stride 2).
struct FlatPlan: Hashable {
    var rows: Int
    var columns: Int
    var phases: Int
    /// Positions per band.
    var band: Int
}

/// A block of filters × sixteen pixels of a row, over a zero-padded copy (or the input itself, for a 1×1 conv
/// over fewer pixels than a pointwise tile, whose planes are one row).
struct BlockedPlan: Hashable {
    var padded: PaddedPlanes?
}
