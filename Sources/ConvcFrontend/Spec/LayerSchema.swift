// The keys each layer kind accepts: decoding, checking and the docs agree on it; the kinds are ConvcIR's
// `LayerKind`, so a new kind does not compile until it has its keys here.

import ConvcIR

/// The type a layer argument must have.
public enum ArgumentType: Hashable, Sendable {
    /// A whole number ≥ `minimum`.
    case integer(minimum: Int)
    /// An integer ≥ `minimum`, or `[h, w]`.
    case pair(minimum: Int)
    /// An integer, `[h, w]`, `[top, bottom, left, right]`, `same` or `valid`.
    case padding
    case bool
    case number
    /// The name of an earlier layer.
    case layerName
    /// A list of earlier layer names.
    case layerNames
    /// An activation kind (`relu`, `sigmoid`, …) or `none`.
    case activation
    /// One of these words (`gelu`'s `approximate: none` or `tanh`).
    case choice([String])
    /// A warning's name, or a list of them (`accept:`).
    case warnings

    /// What `activation:` accepts.
    static let activationSpellings = LayerKind.activations.map(\.spelling) + ["none"]

    var description: String {
        switch self {
        case .integer(let minimum):
            minimum > 0 ? "a positive integer" : minimum == 0 ? "a non-negative integer" : "an integer"
        case .pair(let minimum): (minimum > 0 ? "a positive integer" : "a non-negative integer") + " or [h, w]"
        case .padding: "a non-negative integer, [h, w], [top, bottom, left, right], 'same' or 'valid'"
        case .bool: "true or false"
        case .number: "a number"
        case .layerName: "a layer name"
        case .layerNames: "a list of layer names"
        case .activation:
            "an activation (\(Self.activationSpellings.dropLast().joined(separator: ", ")) or \(Self.activationSpellings.last!))"
        case .warnings:
            "a warning's name or a list of them (" + acceptableWarnings.dropLast().joined(separator: ", ") + " or \(acceptableWarnings.last!))"
        case .choice(let words):
            words.count == 1 ? "'\(words[0])'" : words.dropLast().map { "'\($0)'" }.joined(separator: ", ") + " or '\(words.last!)'"
        }
    }
}

/// The warnings a layer may accept with `accept:` (reported as notes, and not failing `--strict`).
public let acceptableWarnings = ["DroppedInput", "UnreadLayer", "SingleBranchConcat"]

/// A key a layer kind accepts.
public struct KeySchema: Hashable, Sendable {
    public var name: String
    public var type: ArgumentType
    public var required: Bool

    init(_ name: String, _ type: ArgumentType, required: Bool = false) {
        self.name = name
        self.type = type
        self.required = required
    }
}

/// What a structural kind nests.
public typealias StructureKind = LayerKind.Structure

/// A built-in layer kind.
public struct LayerKindSchema: Hashable, Sendable {
    public var kind: LayerKind
    public var name: String { kind.spelling }
    public var keys: [KeySchema]
    public var structure: StructureKind
    public var summary: String

    public func key(_ name: String) -> KeySchema? { keys.first { $0.name == name } }
}

public enum LayerSchema {
    static let positive = ArgumentType.integer(minimum: 1)
    static let natural = ArgumentType.integer(minimum: 0)

    /// Keys every layer accepts, besides its own.
    public static let commonKeys = [KeySchema("name", .layerName), KeySchema("input", .layerName), KeySchema("accept", .warnings)]

    private static let convKeys = [
        KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
        KeySchema("dilation", .pair(minimum: 1)), KeySchema("groups", positive), KeySchema("bias", .bool),
        KeySchema("activation", .activation),
    ]

    /// Every kind's keys, in `LayerKind` order.
    public static let kinds: [LayerKindSchema] = LayerKind.allCases.map(schema(for:))

    static func schema(for kind: LayerKind) -> LayerKindSchema {
        let (keys, summary) = ownKeys(of: kind)
        let common = kind.structure == .repeatBlock ? [] : commonKeys
        return LayerKindSchema(kind: kind, keys: common + keys, structure: kind.structure, summary: summary)
    }

    /// A kind's own keys and a one-line summary.
    private static func ownKeys(of kind: LayerKind) -> ([KeySchema], String) {
        switch kind {
        case .conv:
            ([KeySchema("filters", positive), KeySchema("padding", .padding), KeySchema("depthwise", .bool)] + convKeys,
            "2-D convolution (PyTorch Conv2d)")
        case .convTranspose:
            ([
                KeySchema("filters", positive, required: true), KeySchema("padding", .pair(minimum: 0)),
                KeySchema("output_padding", .pair(minimum: 0)),
            ] + convKeys, "transposed 2-D convolution (ConvTranspose2d)")
        case .maxPool:
            ([
                KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
                KeySchema("padding", .pair(minimum: 0)), KeySchema("dilation", .pair(minimum: 1)),
                KeySchema("ceil_mode", .bool), KeySchema("return_indices", .bool),
            ], "max pooling (MaxPool2d)")
        case .avgPool:
            ([
                KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
                KeySchema("padding", .pair(minimum: 0)), KeySchema("ceil_mode", .bool),
                KeySchema("count_include_pad", .bool),
            ], "average pooling (AvgPool2d)")
        case .globalAvgPool:
            ([], "average over each channel: C×H×W → C×1×1")
        case .globalMaxPool:
            ([], "maximum over each channel: C×H×W → C×1×1")
        case .adaptiveAvgPool:
            ([KeySchema("output", .pair(minimum: 1), required: true)],
            "average pooling to a fixed output size (AdaptiveAvgPool2d)")
        case .maxUnpool:
            ([
                KeySchema("indices", .layerName, required: true), KeySchema("kernel", .pair(minimum: 1)),
                KeySchema("stride", .pair(minimum: 1)), KeySchema("padding", .pair(minimum: 0)),
            ], "scatters values to the positions an earlier max_pool recorded (MaxUnpool2d)")
        case .batchNorm:
            ([KeySchema("eps", .number), KeySchema("momentum", .number)],
            "batch normalisation with running statistics (BatchNorm2d / BatchNorm1d)")
        case .localResponseNorm:
            ([
                KeySchema("size", positive, required: true), KeySchema("alpha", .number),
                KeySchema("beta", .number), KeySchema("k", .number),
            ], "local response normalisation across channels (LocalResponseNorm)")
        case .layerNorm:
            ([KeySchema("eps", .number)], "normalisation over each pixel's channels (LayerNorm, LayerNorm2d)")
        case .scale:
            ([], "x · weight[c], a learned per-channel factor named by the layer itself (ConvNeXt's layer_scale)")
        case .relu:
            ([], "max(x, 0)")
        case .relu6:
            ([], "min(max(x, 0), 6)")
        case .leakyReLU:
            ([KeySchema("slope", .number)], "x for x ≥ 0, slope·x otherwise")
        case .prelu:
            ([KeySchema("per_channel", .bool), KeySchema("init", .number)],
            "leaky ReLU with a learned slope (PReLU)")
        case .sigmoid:
            ([], "1 / (1 + e^−x)")
        case .tanh:
            ([], "hyperbolic tangent")
        case .silu:
            ([], "x · sigmoid(x) (SiLU, swish)")
        case .hardswish:
            ([], "x · relu6(x + 3) / 6 (Hardswish)")
        case .hardsigmoid:
            ([], "relu6(x + 3) / 6 (Hardsigmoid)")
        case .gelu:
            ([KeySchema("approximate", .choice(["none", "tanh"]))], "x · Φ(x), Φ the normal CDF (GELU)")
        case .softmax:
            ([], "softmax over channels (or features of a flat tensor)")
        case .dropout:
            ([KeySchema("rate", .number)], "identity at inference (Dropout)")
        case .spatialDropout:
            ([KeySchema("rate", .number)], "identity at inference (Dropout2d)")
        case .flatten:
            ([], "C×H×W → C·H·W")
        case .dense:
            ([
                KeySchema("units", positive, required: true), KeySchema("bias", .bool),
                KeySchema("activation", .activation), KeySchema("per_pixel", .bool),
            ],
            "fully connected layer (Linear); with per_pixel, over each pixel's channels")
        case .add:
            ([KeySchema("inputs", .layerNames)], "element-wise sum of named layers")
        case .multiply:
            ([KeySchema("inputs", .layerNames, required: true)],
            "element-wise product of named layers; a C×1×1 input is broadcast over H×W")
        case .concat:
            ([KeySchema("inputs", .layerNames)], "concatenation on channels")
        case .channelPad:
            ([KeySchema("channels", positive, required: true)],
            "appends zero channels up to 'channels' (ENet shortcut)")
        case .channelShuffle:
            ([KeySchema("groups", positive, required: true)], "interleaves channel groups (ChannelShuffle)")
        case .squeezeExcitation:
            ([
                KeySchema("squeeze_channels", positive, required: true), KeySchema("activation", .activation),
                KeySchema("scale_activation", .activation),
            ],
            "x · gate(fc2(act(fc1(avgpool(x))))) (torchvision's SqueezeExcitation)")
        case .slice:
            ([KeySchema("start", natural), KeySchema("end", positive)],
            "channels start ..< end of its input (x[:, start:end], torch.chunk, ONNX Split)")
        case .upsample:
            ([
                KeySchema("size", .pair(minimum: 1)), KeySchema("like", .layerName), KeySchema("scale", .number),
                KeySchema("mode", .choice(["nearest", "bilinear"])), KeySchema("align_corners", .bool),
            ],
            "resizes H×W to 'size', to the size of the layer 'like' names, or by 'scale' (F.interpolate)")
        case .identity:
            ([], "passes its input through")
        case .group:
            ([], "a named sequence; unnamed children are numbered like nn.Sequential")
        case .repeat:
            ([
                KeySchema("count", natural, required: true), KeySchema("index", .layerName),
                KeySchema("start", .integer(minimum: Int.min)),
            ],
            "its layers, 'count' times, spliced into the enclosing list")
        case .residual:
            ([], "body + shortcut, added")
        }
    }

    public static let byName: [String: LayerKindSchema] = Dictionary(uniqueKeysWithValues: kinds.map { ($0.name, $0) })

    /// The keys that hold nested layers, per structure.
    static func structuralKeys(_ structure: StructureKind) -> [String] {
        switch structure {
        case .leaf: []
        case .group, .repeatBlock: ["layers"]
        case .residual: ["body", "shortcut"]
        case .concat: ["branches"]
        }
    }
}
