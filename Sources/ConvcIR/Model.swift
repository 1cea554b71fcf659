// The checked model: every layer with its inputs, output shape, parameters and costs, in execution order.

import ConvcDiagnostics

/// One learnable tensor or running statistic, named as PyTorch's `state_dict` names it.
public struct Parameter: Hashable, Sendable {
    /// Full name, e.g. `layer1.0.conv1.weight`.
    public var name: String
    /// PyTorch layout, e.g. `[out, in/groups, kh, kw]` for a conv weight.
    public var shape: [Int]
    /// False for batch-norm running statistics.
    public var trainable: Bool

    public init(name: String, shape: [Int], trainable: Bool) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A layer of the checked model.
public struct Layer: Hashable, Sendable {
    /// Position in `Model.layers`, which is an execution order.
    public var id: Int
    /// Path components, e.g. `["layer1", "0", "conv1"]`.
    public var path: [String]
    public var op: Op
    /// Ids of the layers this one reads, in order.
    public var inputs: [Int]
    public var outputShape: Shape
    public var parameters: [Parameter]
    /// Multiply-accumulates of conv, transposed conv and dense layers; 0 for every other op.
    public var macs: Int
    /// Arithmetic that is not a multiply-accumulate: bias adds, batch-norm, activations, pooling, adds.
    public var otherOps: Int
    /// Where the layer is written in the spec.
    public var location: SourceLocation

    public init(
        id: Int, path: [String], op: Op, inputs: [Int], outputShape: Shape, parameters: [Parameter] = [],
        macs: Int = 0, otherOps: Int = 0, location: SourceLocation
    ) {
        self.id = id
        self.path = path
        self.op = op
        self.inputs = inputs
        self.outputShape = outputShape
        self.parameters = parameters
        self.macs = macs
        self.otherOps = otherOps
        self.location = location
    }

    /// Dotted name, e.g. `layer1.0.conv1`.
    public var name: String { path.joined(separator: ".") }
    /// PyTorch's trainable parameter count.
    public var trainableParameterCount: Int { parameters.filter(\.trainable).reduce(0) { $0 + $1.elementCount } }
    /// Batch-norm running mean and variance elements.
    public var nonTrainableParameterCount: Int {
        parameters.filter { !$0.trainable }.reduce(0) { $0 + $1.elementCount }
    }
}

/// A named scope (block instance or group) that `--depth` can fold into one row.
public struct Scope: Hashable, Sendable {
    public var path: [String]
    /// The block name for a block instance, `group` for a group.
    public var kind: String

    public init(path: [String], kind: String) {
        self.path = path
        self.kind = kind
    }
}

/// A checked network.
public struct Model: Hashable, Sendable {
    public var name: String
    /// Layer 0 is always the input.
    public var layers: [Layer]
    /// The layer whose output is the model's output.
    public var outputLayer: Int
    public var scopes: [Scope]

    public init(name: String, layers: [Layer], outputLayer: Int, scopes: [Scope]) {
        self.name = name
        self.layers = layers
        self.outputLayer = outputLayer
        self.scopes = scopes
    }

    /// The first layer with this dotted name.
    public func layer(_ name: String) -> Layer? { layers.first { $0.name == name } }

    public var inputShape: Shape { layers[0].outputShape }
    public var outputShape: Shape { layers[outputLayer].outputShape }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.trainableParameterCount } }
    public var nonTrainableParameterCount: Int { layers.reduce(0) { $0 + $1.nonTrainableParameterCount } }
    public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
    /// FLOPs: two per multiply-accumulate plus every other arithmetic op.
    public var flops: Int { layers.reduce(0) { $0 + 2 * $1.macs + $1.otherOps } }
    /// Every parameter in execution order: the flat layout weights are stored in.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
}
