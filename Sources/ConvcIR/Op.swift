// What each layer computes, in inference semantics (PyTorch's unless a case says otherwise).

/// An element-wise activation.
public enum Activation: Hashable, Sendable, CustomStringConvertible {
    case relu
    case relu6
    case leakyReLU(slope: Double)
    case sigmoid
    case tanh
    /// x · sigmoid(x) (`SiLU`, swish).
    case silu
    /// x · relu6(x + 3) / 6 (`Hardswish`).
    case hardswish
    /// relu6(x + 3) / 6 (`Hardsigmoid`).
    case hardsigmoid
    /// x · Φ(x), Φ the standard normal CDF (`GELU`), or with `tanh`, PyTorch's `approximate='tanh'`:
    /// x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))).
    case gelu(tanh: Bool)

    public var description: String {
        switch self {
        case .relu: "relu"
        case .relu6: "relu6"
        case .leakyReLU(let slope): "leaky_relu(\(slope))"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .silu: "silu"
        case .hardswish: "hardswish"
        case .hardsigmoid: "hardsigmoid"
        case .gelu(let tanh): tanh ? "gelu(tanh)" : "gelu"
        }
    }
}

/// A 2-D convolution or transposed convolution (`Conv2d`, `ConvTranspose2d`).
public struct Convolution: Hashable, Sendable {
    public var inChannels: Int
    public var filters: Int
    public var kernel: Pair
    public var stride: Pair
    public var padding: Padding
    public var dilation: Pair
    public var groups: Int
    public var bias: Bool
    /// Transposed convolution only: extra rows/columns added at the bottom/right of the output.
    public var outputPadding: Pair
    /// Applied to the output in the same layer (fused).
    public var activation: Activation?

    public init(
        inChannels: Int, filters: Int, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, groups: Int,
        bias: Bool, outputPadding: Pair = Pair(0, 0), activation: Activation? = nil
    ) {
        self.inChannels = inChannels
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.bias = bias
        self.outputPadding = outputPadding
        self.activation = activation
    }
}

/// Max or average pooling over windows (`MaxPool2d`, `AvgPool2d`).
public struct Pooling: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case max, average }
    public var kind: Kind
    public var kernel: Pair
    public var stride: Pair
    public var padding: Padding
    public var dilation: Pair
    public var ceilMode: Bool
    /// Average pooling: whether padded zeros count in the divisor (PyTorch default true).
    public var countIncludePad: Bool
    /// Max pooling: the argmax indices are kept for a later `max_unpool`.
    public var returnsIndices: Bool

    public init(
        kind: Kind, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair = Pair(1, 1), ceilMode: Bool,
        countIncludePad: Bool = true, returnsIndices: Bool = false
    ) {
        self.kind = kind
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        self.returnsIndices = returnsIndices
    }
}

/// Resizing of each channel's H×W plane (`nn.Upsample`, `F.interpolate`); the output size is the layer's shape.
public struct Upsampling: Hashable, Sendable {
    public enum Mode: String, Hashable, Sendable { case nearest, bilinear }
    public var mode: Mode
    /// Bilinear only: the corner pixels' centres map onto each other (PyTorch's `align_corners=True`).
    public var alignCorners: Bool
    /// The factor the spec gave (`scale_factor`); PyTorch then maps coordinates by 1/scale rather than in/out.
    public var scale: Double?

    public init(mode: Mode, alignCorners: Bool, scale: Double?) {
        self.mode = mode
        self.alignCorners = alignCorners
        self.scale = scale
    }
}

/// The operation of one layer.
public enum Op: Hashable, Sendable {
    /// The model input.
    case input
    case conv(Convolution)
    case convTranspose(Convolution)
    case pool(Pooling)
    case globalPool(Pooling.Kind)
    case adaptiveAvgPool(output: Pair)
    /// Scatters its input to the positions recorded by the max-pool layer `indicesFrom` (a layer id).
    case maxUnpool(kernel: Pair, stride: Pair, padding: Padding, indicesFrom: Int)
    case batchNorm(epsilon: Double)
    case localResponseNorm(size: Int, alpha: Double, beta: Double, k: Double)
    /// Normalises each pixel over its channels (features, for a flat tensor), then weight[c] · x + bias[c]
    /// (`nn.LayerNorm(C)` on channels-last values, torchvision's `LayerNorm2d`; biased variance).
    case layerNorm(epsilon: Double)
    /// x · weight[c]: a learned per-channel factor (ConvNeXt's `layer_scale`, a bare [C, 1, 1] parameter).
    case scale
    case activation(Activation)
    case prelu(perChannel: Bool)
    /// Softmax over channels (or features, for a flat tensor).
    case softmax
    case dropout(rate: Double, spatial: Bool)
    case flatten
    case dense(inFeatures: Int, units: Int, bias: Bool, activation: Activation?)
    case add
    /// The element-wise product of its inputs; an input of C×1×1 is broadcast over H×W (squeeze-and-excitation's
    /// gate, PyTorch's `x * scale`).
    case multiply
    case concat
    /// Appends zero channels up to `channels` (ENet's downsampling shortcut).
    case channelPad(channels: Int)
    /// Splits the channels into `groups` and interleaves them (ShuffleNet's ChannelShuffle): output channel
    /// c · groups + g is input channel g · (C / groups) + c.
    case channelShuffle(groups: Int)
    case upsample(Upsampling)
    /// Channels `start ..< end` of its input (PyTorch's `x[:, start:end]`, one part of `torch.chunk`, ONNX Slice).
    case channelSlice(start: Int, end: Int)
    case identity

    /// The name reports show: the spec's spelling, with depthwise convs marked.
    public var kindName: String {
        guard let kind = layerKind else { return "input" }
        if case .conv(let c) = self, c.groups > 1, c.groups == c.inChannels { return "conv (depthwise)" }
        return kind.spelling
    }

    /// Ops whose output is their input, unchanged, at inference (no buffer of their own).
    public var isAliasAtInference: Bool {
        switch self {
        case .dropout, .flatten, .identity: true
        case .input, .conv, .convTranspose, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm,
            .localResponseNorm, .layerNorm, .scale, .activation, .prelu, .softmax, .dense, .add, .multiply, .concat, .channelPad,
            .channelShuffle, .upsample, .channelSlice:
            false
        }
    }
}
