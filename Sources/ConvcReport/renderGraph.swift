// The checked model as a JSON graph: every layer with its op, attributes, inputs and parameter names.
// `convc export` prints it; tools/onnx_reference.py builds the same network in ONNX from it.

import ConvcIR

/// Renders the model graph. Layer 0 is the input; `inputs` are layer ids; attributes use PyTorch's meanings.
public func renderGraph(_ model: Model) -> String {
    func list(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }
    let string = jsonString
    func pair(_ p: Pair) -> String { list([p.h, p.w]) }
    func padding(_ p: Padding) -> String { list([p.top, p.bottom, p.left, p.right]) }
    func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)).0" : "\(value)"
    }
    func activation(_ a: Activation?) -> String {
        guard let a else { return "null" }
        if case .leakyReLU(let slope) = a { return "{ \"kind\": \"leaky_relu\", \"slope\": \(number(slope)) }" }
        if case .gelu(let tanh) = a { return "{ \"kind\": \"gelu\", \"approximate\": \"\(tanh ? "tanh" : "none")\" }" }
        return "{ \"kind\": \"\(Op.activation(a).kindName)\" }"
    }
    func attributes(_ op: Op) -> String {
        switch op {
        case .conv(let c), .convTranspose(let c):
            return "{ \"in_channels\": \(c.inChannels), \"filters\": \(c.filters), \"kernel\": \(pair(c.kernel)), \"stride\": \(pair(c.stride)), \"padding\": \(padding(c.padding)), \"dilation\": \(pair(c.dilation)), \"groups\": \(c.groups), \"bias\": \(c.bias), \"output_padding\": \(pair(c.outputPadding)), \"activation\": \(activation(c.activation)) }"
        case .pool(let p):
            return "{ \"kernel\": \(pair(p.kernel)), \"stride\": \(pair(p.stride)), \"padding\": \(padding(p.padding)), \"dilation\": \(pair(p.dilation)), \"ceil_mode\": \(p.ceilMode), \"count_include_pad\": \(p.countIncludePad), \"return_indices\": \(p.returnsIndices) }"
        case .adaptiveAvgPool(let output): return "{ \"output\": \(pair(output)) }"
        case .maxUnpool(let kernel, let stride, let p, let indices):
            return "{ \"kernel\": \(pair(kernel)), \"stride\": \(pair(stride)), \"padding\": \(padding(p)), \"indices_from\": \(indices) }"
        case .batchNorm(let epsilon), .layerNorm(let epsilon): return "{ \"eps\": \(number(epsilon)) }"
        case .localResponseNorm(let size, let alpha, let beta, let k):
            return "{ \"size\": \(size), \"alpha\": \(number(alpha)), \"beta\": \(number(beta)), \"k\": \(number(k)) }"
        case .activation(let a): return "{ \"activation\": \(activation(a)) }"
        case .prelu(let perChannel): return "{ \"per_channel\": \(perChannel) }"
        case .dropout(let rate, let spatial): return "{ \"rate\": \(number(rate)), \"spatial\": \(spatial) }"
        case .dense(let inFeatures, let units, let bias, let a):
            return "{ \"in_features\": \(inFeatures), \"units\": \(units), \"bias\": \(bias), \"activation\": \(activation(a)) }"
        case .channelPad(let channels): return "{ \"channels\": \(channels) }"
        case .channelShuffle(let groups): return "{ \"groups\": \(groups) }"
        case .channelSlice(let start, let end): return "{ \"start\": \(start), \"end\": \(end) }"
        case .upsample(let u):
            return "{ \"mode\": \(string(u.mode.rawValue)), \"align_corners\": \(u.alignCorners), \"scale\": \(u.scale.map(number) ?? "null") }"
        case .scale, .globalPool, .softmax, .flatten, .add, .multiply, .concat, .identity, .input: return "{}"
        }
    }
    func kind(_ op: Op) -> String {
        if case .conv = op { return "conv" }
        return op.kindName
    }
    var lines = ["{"]
    lines.append("  \"model\": \(string(model.name)),")
    lines.append("  \"input_shape\": \(list(model.inputShape.dims)),")
    lines.append("  \"output_shape\": \(list(model.outputShape.dims)),")
    lines.append("  \"output\": \(model.outputLayer),")
    lines.append("  \"layers\": [")
    for layer in model.layers {
        let parameters = layer.parameters.map { "{ \"name\": \(string($0.name)), \"shape\": \(list($0.shape)), \"trainable\": \($0.trainable) }" }
        let comma = layer.id == model.layers.count - 1 ? "" : ","
        lines.append(
            "    { \"id\": \(layer.id), \"name\": \(string(layer.name)), \"op\": \(string(kind(layer.op))), \"inputs\": \(list(layer.inputs)), \"output_shape\": \(list(layer.outputShape.dims)), \"attributes\": \(attributes(layer.op)), \"parameters\": [\(parameters.joined(separator: ", "))] }\(comma)"
        )
    }
    lines.append("  ]")
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}
