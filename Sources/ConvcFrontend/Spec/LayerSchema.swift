// The built-in layer kinds and the keys each accepts: one table that decoding, checking and the docs agree on.

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
    /// `relu`, `relu6`, `leaky_relu`, `sigmoid`, `tanh` or `none`.
    case activation

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
        case .activation: "an activation (relu, relu6, leaky_relu, sigmoid, tanh or none)"
        }
    }
}

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
public enum StructureKind: Hashable, Sendable {
    case leaf, group, repeatBlock, residual, concat
}

/// A built-in layer kind.
public struct LayerKindSchema: Hashable, Sendable {
    public var name: String
    public var keys: [KeySchema]
    public var structure: StructureKind
    public var summary: String

    public func key(_ name: String) -> KeySchema? { keys.first { $0.name == name } }
}

public enum LayerSchema {
    static let positive = ArgumentType.integer(minimum: 1)
    static let natural = ArgumentType.integer(minimum: 0)

    /// Keys every layer accepts, besides its own.
    static let commonKeys = [KeySchema("name", .layerName), KeySchema("input", .layerName)]

    private static func kind(
        _ name: String, _ keys: [KeySchema], structure: StructureKind = .leaf, _ summary: String
    ) -> LayerKindSchema {
        let common = structure == .repeatBlock ? [] : commonKeys
        return LayerKindSchema(name: name, keys: common + keys, structure: structure, summary: summary)
    }

    private static let convKeys = [
        KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
        KeySchema("dilation", .pair(minimum: 1)), KeySchema("groups", positive), KeySchema("bias", .bool),
        KeySchema("activation", .activation),
    ]

    public static let kinds: [LayerKindSchema] = [
        kind(
            "conv",
            [KeySchema("filters", positive), KeySchema("padding", .padding), KeySchema("depthwise", .bool)] + convKeys,
            "2-D convolution (PyTorch Conv2d)"),
        kind(
            "conv_transpose",
            [
                KeySchema("filters", positive, required: true), KeySchema("padding", .pair(minimum: 0)),
                KeySchema("output_padding", .pair(minimum: 0)),
            ] + convKeys, "transposed 2-D convolution (ConvTranspose2d)"),
        kind(
            "max_pool",
            [
                KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
                KeySchema("padding", .pair(minimum: 0)), KeySchema("dilation", .pair(minimum: 1)),
                KeySchema("ceil_mode", .bool), KeySchema("return_indices", .bool),
            ], "max pooling (MaxPool2d)"),
        kind(
            "avg_pool",
            [
                KeySchema("kernel", .pair(minimum: 1), required: true), KeySchema("stride", .pair(minimum: 1)),
                KeySchema("padding", .pair(minimum: 0)), KeySchema("ceil_mode", .bool),
                KeySchema("count_include_pad", .bool),
            ], "average pooling (AvgPool2d)"),
        kind("global_avg_pool", [], "average over each channel: C×H×W → C×1×1"),
        kind("global_max_pool", [], "maximum over each channel: C×H×W → C×1×1"),
        kind(
            "adaptive_avg_pool", [KeySchema("output", .pair(minimum: 1), required: true)],
            "average pooling to a fixed output size (AdaptiveAvgPool2d)"),
        kind(
            "max_unpool",
            [
                KeySchema("indices", .layerName, required: true), KeySchema("kernel", .pair(minimum: 1)),
                KeySchema("stride", .pair(minimum: 1)), KeySchema("padding", .pair(minimum: 0)),
            ], "scatters values to the positions an earlier max_pool recorded (MaxUnpool2d)"),
        kind(
            "batch_norm", [KeySchema("eps", .number), KeySchema("momentum", .number)],
            "batch normalisation with running statistics (BatchNorm2d / BatchNorm1d)"),
        kind(
            "local_response_norm",
            [
                KeySchema("size", positive, required: true), KeySchema("alpha", .number),
                KeySchema("beta", .number), KeySchema("k", .number),
            ], "local response normalisation across channels (LocalResponseNorm)"),
        kind("relu", [], "max(x, 0)"),
        kind("relu6", [], "min(max(x, 0), 6)"),
        kind("leaky_relu", [KeySchema("slope", .number)], "x for x ≥ 0, slope·x otherwise"),
        kind(
            "prelu", [KeySchema("per_channel", .bool), KeySchema("init", .number)],
            "leaky ReLU with a learned slope (PReLU)"),
        kind("sigmoid", [], "1 / (1 + e^−x)"),
        kind("tanh", [], "hyperbolic tangent"),
        kind("softmax", [], "softmax over channels (or features of a flat tensor)"),
        kind("dropout", [KeySchema("rate", .number)], "identity at inference (Dropout)"),
        kind("spatial_dropout", [KeySchema("rate", .number)], "identity at inference (Dropout2d)"),
        kind("flatten", [], "C×H×W → C·H·W"),
        kind(
            "dense",
            [
                KeySchema("units", positive, required: true), KeySchema("bias", .bool),
                KeySchema("activation", .activation),
            ],
            "fully connected layer (Linear)"),
        kind("add", [KeySchema("inputs", .layerNames)], "element-wise sum of named layers"),
        kind("concat", [KeySchema("inputs", .layerNames)], structure: .concat, "concatenation on channels"),
        kind(
            "channel_pad", [KeySchema("channels", positive, required: true)],
            "appends zero channels up to 'channels' (ENet shortcut)"),
        kind("identity", [], "passes its input through"),
        kind("group", [], structure: .group, "a named sequence; unnamed children are numbered like nn.Sequential"),
        kind(
            "repeat",
            [
                KeySchema("count", natural, required: true), KeySchema("index", .layerName),
                KeySchema("start", .integer(minimum: Int.min)),
            ],
            structure: .repeatBlock,
            "its layers, 'count' times, spliced into the enclosing list"),
        kind("residual", [], structure: .residual, "body + shortcut, added"),
    ]

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
