// Shape, parameter and cost rules of every built-in layer kind (PyTorch semantics unless noted).

import ConvcDiagnostics
import ConvcIR

extension Elaborator {
    mutating func elaborateLeaf(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        let kind = item.kind.value
        guard let layerKind = LayerKind(rawValue: kind) else {
            diagnostics.error("unknown layer kind '\(kind)'", category: "UnknownLayerKind", at: item.kind.location)
            return .poisoned
        }
        pendingMisaligned = false
        let arguments = evaluateArguments(item, defaults: spec.defaults[kind] ?? [], in: environment)
        guard let path = assignName(item, kind: kind, scope: scope, environment: environment) else { return .poisoned }
        if arguments.failed { return .poisoned }
        let location = item.kind.location

        // Layers that read named layers rather than the previous one.
        if layerKind == .add || layerKind == .multiply || layerKind == .concat {
            let references = arguments.strings("inputs") ?? []
            var flows: [(Flow, SourceLocation)] = []
            if arguments.has("inputs") {
                for reference in references {
                    guard let flow = resolve(reference, from: scope) else { return .poisoned }
                    flows.append((flow, reference.location))
                }
            } else {
                flows = [(input, location)]
            }
            if layerKind == .concat { return concatenate(flows, path: path, location: location) }
            if layerKind == .multiply { return multiply(flows, path: path, location: location) }
            return add(flows, path: path, location: location)
        }

        guard let shape = input.shape else { return .poisoned }
        let name = path.joined(separator: ".")

        func needFeatureMap() -> Bool {
            guard shape.isFeatureMap else {
                diagnostics.error(
                    "'\(name)' (\(kind)) needs a C×H×W input, but \(describeProducer(input)) gives \(shape)",
                    category: "ShapeMismatch", at: location, notes: producerNote(input))
                return false
            }
            return true
        }

        switch layerKind {
        case .conv:
            guard needFeatureMap() else { return .poisoned }
            let depthwise = arguments.bool("depthwise", default: false)
            guard let filters = arguments.optionalInt("filters") ?? (depthwise ? shape.channels : nil) else {
                diagnostics.error("'conv' needs 'filters' (a positive integer)", category: "MissingKey", at: location)
                return .poisoned
            }
            let kernel = arguments.pair("kernel", default: Pair(1, 1))
            let stride = arguments.pair("stride", default: Pair(1, 1))
            let dilation = arguments.pair("dilation", default: Pair(1, 1))
            let groups = depthwise ? shape.channels : arguments.int("groups", default: 1)
            if depthwise, arguments.has("groups"), arguments.int("groups", default: 1) != shape.channels {
                diagnostics.error(
                    "'\(name)': a depthwise conv has groups = input channels (\(shape.channels)); remove 'groups'",
                    category: "InvalidValue", at: arguments.location("groups") ?? location)
                return .poisoned
            }
            guard
                checkGroups(
                    groups, inChannels: shape.channels, filters: filters, name: name, arguments: arguments,
                    location: location, input: input)
            else { return .poisoned }
            let padding: Padding
            switch arguments.padding() {
            case .explicit(let p): padding = p
            case .valid: padding = .zero
            case .same: padding = samePadding(shape: shape, kernel: kernel, stride: stride, dilation: dilation)
            }
            let conv = Convolution(
                inChannels: shape.channels, filters: filters, kernel: kernel, stride: stride, padding: padding,
                dilation: dilation, groups: groups, bias: arguments.bool("bias", default: true),
                activation: arguments.activation())
            return addConvolution(
                conv, path: path, input: input, inputShape: shape, location: location, arguments: arguments)
                ?? .poisoned

        case .convTranspose:
            guard needFeatureMap() else { return .poisoned }
            let filters = arguments.int("filters", default: 1)
            let kernel = arguments.pair("kernel", default: Pair(1, 1))
            let stride = arguments.pair("stride", default: Pair(1, 1))
            let dilation = arguments.pair("dilation", default: Pair(1, 1))
            let pad = arguments.pair("padding", default: Pair(0, 0))
            let outputPadding = arguments.pair("output_padding", default: Pair(0, 0))
            let groups = arguments.int("groups", default: 1)
            guard
                checkGroups(
                    groups, inChannels: shape.channels, filters: filters, name: name, arguments: arguments,
                    location: location, input: input)
            else { return .poisoned }
            if outputPadding.h >= max(stride.h, dilation.h) || outputPadding.w >= max(stride.w, dilation.w) {
                diagnostics.error(
                    "'\(name)': output_padding \(outputPadding) must be smaller than the stride or the dilation",
                    category: "InvalidValue", at: arguments.location("output_padding") ?? location)
                return .poisoned
            }
            // (in − 1)·s can overflow for absurd inputs; checked here, the rest stays small.
            guard let hStride = checkedProduct([shape.height - 1, stride.h], name: name, location: location),
                let wStride = checkedProduct([shape.width - 1, stride.w], name: name, location: location)
            else { return .poisoned }
            let h = hStride - 2 * pad.h + dilation.h * (kernel.h - 1) + outputPadding.h + 1
            let w = wStride - 2 * pad.w + dilation.w * (kernel.w - 1) + outputPadding.w + 1
            guard h > 0, w > 0 else {
                diagnostics.error(
                    "'\(name)': (\(shape.height) - 1)·\(stride.h) - 2·\(pad.h) + \(dilation.h)·(\(kernel.h) - 1) + \(outputPadding.h) + 1 = \(h); the output would be empty",
                    category: "ShapeMismatch", at: location)
                return .poisoned
            }
            let conv = Convolution(
                inChannels: shape.channels, filters: filters, kernel: kernel, stride: stride,
                padding: Padding(top: pad.h, bottom: pad.h, left: pad.w, right: pad.w), dilation: dilation,
                groups: groups, bias: arguments.bool("bias", default: true), outputPadding: outputPadding,
                activation: arguments.activation())
            guard let out = checkedShape([filters, h, w], name: name, location: location),
                // Each input element is multiplied into every kernel tap of its group's output channels.
                let macs = checkedCost(
                    [shape.elementCount, filters / groups, kernel.h, kernel.w], name: name, location: location),
                let parameters = weightAndBias(
                    path, weight: [shape.channels, filters / groups, kernel.h, kernel.w],
                    bias: conv.bias ? filters : nil, location: location)
            else { return .poisoned }
            let elements = out.elementCount
            return addLayer(
                path: path, op: .convTranspose(conv), inputs: [input.layer], shape: out, parameters: parameters,
                macs: macs, otherOps: (conv.bias ? elements : 0) + (conv.activation != nil ? elements : 0),
                location: location)

        case .maxPool, .avgPool:
            guard needFeatureMap() else { return .poisoned }
            let kernel = arguments.pair("kernel", default: Pair(1, 1))
            let stride = arguments.pair("stride", default: kernel)
            let pad = arguments.pair("padding", default: Pair(0, 0))
            let dilation = arguments.pair("dilation", default: Pair(1, 1))
            let ceilMode = arguments.bool("ceil_mode", default: false)
            let effective = Pair(dilation.h * (kernel.h - 1) + 1, dilation.w * (kernel.w - 1) + 1)
            if 2 * pad.h > effective.h || 2 * pad.w > effective.w {
                diagnostics.error(
                    "'\(name)': padding \(pad.h == pad.w ? "\(pad.h)" : "\(pad)") is more than half the \(effective) window; PyTorch allows at most half",
                    category: "InvalidValue", at: arguments.location("padding") ?? location)
                return .poisoned
            }
            let padding = Padding(top: pad.h, bottom: pad.h, left: pad.w, right: pad.w)
            guard
                let size = spatialOutput(
                    name: name, input: input, shape: shape, kernel: kernel, stride: stride, padding: padding,
                    dilation: dilation, ceilMode: ceilMode, isPool: true, arguments: arguments, location: location)
            else { return .poisoned }
            let pooling = Pooling(
                kind: layerKind == .maxPool ? .max : .average, kernel: kernel, stride: stride, padding: padding,
                dilation: dilation, ceilMode: ceilMode,
                countIncludePad: arguments.bool("count_include_pad", default: true),
                returnsIndices: arguments.bool("return_indices", default: false))
            guard let out = checkedShape([shape.channels, size.h, size.w], name: name, location: location),
                let reads = checkedCost([out.elementCount, kernel.h, kernel.w], name: name, location: location)
            else { return .poisoned }
            return addLayer(
                path: path, op: .pool(pooling), inputs: [input.layer], shape: out, otherOps: reads, location: location)

        case .globalAvgPool, .globalMaxPool:
            guard needFeatureMap() else { return .poisoned }
            return addLayer(
                path: path, op: .globalPool(layerKind == .globalMaxPool ? .max : .average), inputs: [input.layer],
                shape: .chw(shape.channels, 1, 1), otherOps: shape.elementCount, location: location)

        case .adaptiveAvgPool:
            guard needFeatureMap() else { return .poisoned }
            let output = arguments.pair("output", default: Pair(1, 1))
            guard let out = checkedShape([shape.channels, output.h, output.w], name: name, location: location) else {
                return .poisoned
            }
            return addLayer(
                path: path, op: .adaptiveAvgPool(output: output), inputs: [input.layer], shape: out,
                otherOps: max(shape.elementCount, out.elementCount), location: location)

        case .maxUnpool:
            guard needFeatureMap(), let reference = arguments.string("indices") else { return .poisoned }
            guard let pool = resolve(Located(reference, at: arguments.location("indices") ?? location), from: scope)
            else { return .poisoned }
            let poolLayer = layers[pool.layer]
            guard case .pool(let pooling) = poolLayer.op, pooling.kind == .max, pooling.returnsIndices else {
                diagnostics.error(
                    "'\(name)' takes its indices from '\(poolLayer.name)', which is not a max_pool with 'return_indices: true'",
                    category: "InvalidReference", at: arguments.location("indices") ?? location,
                    notes: [Note("'\(poolLayer.name)' is defined here", at: poolLayer.location)])
                return .poisoned
            }
            guard shape == poolLayer.outputShape else {
                diagnostics.error(
                    "'\(name)' unpools a \(shape) input with the indices of '\(poolLayer.name)', which produced \(poolLayer.outputShape); they must match",
                    category: "ShapeMismatch", at: location,
                    notes: [Note("'\(poolLayer.name)' is defined here", at: poolLayer.location)])
                return .poisoned
            }
            // The output is the pool's input size (PyTorch's max_unpool with output_size, ONNX's MaxUnpool with
            // output_shape), so ceil-mode pools unpool exactly.
            let kernel = arguments.optionalPair("kernel") ?? pooling.kernel
            let stride = arguments.optionalPair("stride") ?? pooling.stride
            let pad = arguments.optionalPair("padding") ?? Pair(pooling.padding.top, pooling.padding.left)
            let poolInput = layers[poolLayer.inputs[0]].outputShape
            return addLayer(
                path: path,
                op: .maxUnpool(
                    kernel: kernel, stride: stride,
                    padding: Padding(top: pad.h, bottom: pad.h, left: pad.w, right: pad.w), indicesFrom: pool.layer),
                inputs: [input.layer], shape: .chw(shape.channels, poolInput.height, poolInput.width),
                location: location)

        case .batchNorm:
            return addBatchNorm(
                path: path, input: input, epsilon: arguments.number("eps", default: 1e-5), location: location)

        case .layerNorm:
            let channels = shape.channels
            return addLayer(
                path: path, op: .layerNorm(epsilon: arguments.number("eps", default: 1e-5)), inputs: [input.layer],
                shape: shape,
                parameters: [
                    Parameter(name: name + ".weight", shape: [channels], trainable: true),
                    Parameter(name: name + ".bias", shape: [channels], trainable: true),
                ], otherOps: 5 * shape.elementCount, location: location)

        case .scale:
            // Named by the layer itself: torchvision's layer_scale is a parameter of its block, not a module.
            return addLayer(
                path: path, op: .scale, inputs: [input.layer], shape: shape,
                parameters: [
                    Parameter(name: name, shape: shape.isFeatureMap ? [shape.channels, 1, 1] : [shape.channels], trainable: true)
                ], otherOps: shape.elementCount, location: location)

        case .localResponseNorm:
            guard needFeatureMap() else { return .poisoned }
            let size = arguments.int("size", default: 5)
            guard let cost = checkedCost([shape.elementCount, size + 3], name: name, location: location) else {
                return .poisoned
            }
            return addLayer(
                path: path,
                op: .localResponseNorm(
                    size: size, alpha: arguments.number("alpha", default: 1e-4),
                    beta: arguments.number("beta", default: 0.75), k: arguments.number("k", default: 1)),
                inputs: [input.layer], shape: shape, otherOps: cost, location: location)

        case .relu, .relu6, .leakyReLU, .sigmoid, .tanh, .silu, .hardswish, .hardsigmoid, .gelu:
            let activation = Activation(
                layerKind, slope: arguments.number("slope", default: 0.01),
                tanhApproximation: arguments.string("approximate") == "tanh")
            guard let activation else { return .poisoned }
            return addLayer(
                path: path, op: .activation(activation), inputs: [input.layer], shape: shape,
                otherOps: shape.elementCount, location: location)

        case .prelu:
            let perChannel = arguments.bool("per_channel", default: false)
            return addLayer(
                path: path, op: .prelu(perChannel: perChannel), inputs: [input.layer], shape: shape,
                parameters: [
                    Parameter(name: name + ".weight", shape: [perChannel ? shape.channels : 1], trainable: true)
                ],
                otherOps: shape.elementCount, location: location)

        case .softmax:
            return addLayer(
                path: path, op: .softmax, inputs: [input.layer], shape: shape, otherOps: 3 * shape.elementCount,
                location: location)

        case .dropout, .spatialDropout:
            let rate = arguments.number("rate", default: 0.5)
            guard rate >= 0, rate < 1 else {
                diagnostics.error(
                    "'\(name)': a dropout rate is in [0, 1); found \(rate)", category: "InvalidValue",
                    at: arguments.location("rate") ?? location)
                return .poisoned
            }
            if layerKind == .spatialDropout { guard needFeatureMap() else { return .poisoned } }
            return addLayer(
                path: path, op: .dropout(rate: rate, spatial: layerKind == .spatialDropout), inputs: [input.layer],
                shape: shape, location: location)

        case .flatten:
            return addLayer(
                path: path, op: .flatten, inputs: [input.layer], shape: Shape([shape.elementCount]), location: location)

        case .identity:
            return addLayer(path: path, op: .identity, inputs: [input.layer], shape: shape, location: location)

        case .dense where arguments.bool("per_pixel", default: false):
            // PyTorch's Linear over channels-last pixels (ConvNeXt): a 1×1 conv whose weight keeps Linear's [out, in].
            guard needFeatureMap() else { return .poisoned }
            let units = arguments.int("units", default: 1)
            let bias = arguments.bool("bias", default: true)
            let conv = Convolution(
                inChannels: shape.channels, filters: units, kernel: Pair(1, 1), stride: Pair(1, 1), padding: .zero,
                dilation: Pair(1, 1), groups: 1, bias: bias, activation: arguments.activation())
            let plane = shape.height * shape.width
            guard let out = checkedShape([units, shape.height, shape.width], name: name, location: location),
                let macs = checkedCost([plane, shape.channels, units], name: name, location: location),
                let parameters = weightAndBias(path, weight: [units, shape.channels], bias: bias ? units : nil, location: location)
            else { return .poisoned }
            return addLayer(
                path: path, op: .conv(conv), inputs: [input.layer], shape: out, parameters: parameters, macs: macs,
                otherOps: out.elementCount * ((bias ? 1 : 0) + (conv.activation != nil ? 1 : 0)), location: location)

        case .dense:
            let units = arguments.int("units", default: 1)
            guard shape.dims.count == 1 else {
                diagnostics.error(
                    "'\(name)' is a dense layer, but \(describeProducer(input)) gives \(shape); add '- flatten' before it (\(shape.dims.map(String.init).joined(separator: "·")) = \(grouped(shape.elementCount)) features), or 'per_pixel: true' to apply it to each pixel's channels",
                    category: "ShapeMismatch", at: location, notes: producerNote(input))
                return .poisoned
            }
            let bias = arguments.bool("bias", default: true)
            guard let macs = checkedCost([shape.channels, units], name: name, location: location),
                let parameters = weightAndBias(
                    path, weight: [units, shape.channels], bias: bias ? units : nil, location: location)
            else { return .poisoned }
            return addLayer(
                path: path,
                op: .dense(inFeatures: shape.channels, units: units, bias: bias, activation: arguments.activation()),
                inputs: [input.layer], shape: Shape([units]), parameters: parameters, macs: macs,
                otherOps: (bias ? units : 0) + (arguments.activation() != nil ? units : 0), location: location)

        case .channelPad:
            guard needFeatureMap() else { return .poisoned }
            let channels = arguments.int("channels", default: shape.channels)
            guard channels >= shape.channels else {
                diagnostics.error(
                    "'\(name)' pads \(shape.channels) channels to \(channels); it can only add channels",
                    category: "InvalidValue", at: arguments.location("channels") ?? location)
                return .poisoned
            }
            guard let out = checkedShape([channels, shape.height, shape.width], name: name, location: location) else {
                return .poisoned
            }
            return addLayer(
                path: path, op: .channelPad(channels: channels), inputs: [input.layer], shape: out, location: location)

        case .channelShuffle:
            guard needFeatureMap() else { return .poisoned }
            let groups = arguments.int("groups", default: 1)
            guard shape.channels % groups == 0 else {
                diagnostics.error(
                    "'\(name)' shuffles \(shape.channels) channels in \(groups) groups; groups must divide the channels",
                    category: "InvalidValue", at: arguments.location("groups") ?? location)
                return .poisoned
            }
            return addLayer(
                path: path, op: .channelShuffle(groups: groups), inputs: [input.layer], shape: shape, location: location)

        case .slice:
            guard needFeatureMap() else { return .poisoned }
            let start = arguments.int("start", default: 0), end = arguments.int("end", default: shape.channels)
            guard start < end, end <= shape.channels else {
                diagnostics.error(
                    "'\(name)' takes channels \(start) ..< \(end), but \(describeProducer(input)) gives \(shape.channels); it needs 0 ≤ start < end ≤ \(shape.channels)",
                    category: "InvalidValue", at: arguments.location(end > shape.channels ? "end" : "start") ?? location,
                    notes: producerNote(input))
                return .poisoned
            }
            return addLayer(
                path: path, op: .channelSlice(start: start, end: end), inputs: [input.layer],
                shape: .chw(end - start, shape.height, shape.width), location: location)

        case .upsample:
            guard needFeatureMap() else { return .poisoned }
            return upsample(input, shape: shape, arguments: arguments, name: name, path: path, scope: scope, location: location)

        case .squeezeExcitation:
            guard needFeatureMap() else { return .poisoned }
            return squeezeExcitation(
                input, shape: shape, squeezeChannels: arguments.int("squeeze_channels", default: 1),
                activation: arguments.has("activation") ? arguments.activation() : .relu,
                gate: arguments.has("scale_activation") ? arguments.activation("scale_activation") : .sigmoid,
                path: path, location: location)

        case .add, .multiply, .concat, .group, .repeat, .residual:
            // Named-input layers return above; structures are elaborated by `elaborate(_:)` before this.
            diagnostics.error("internal error: '\(kind)' reached the leaf rules", category: "Internal", at: location)
            return .poisoned
        }
    }

    mutating func add(_ flows: [(Flow, SourceLocation)], path: [String], location: SourceLocation) -> Flow {
        guard flows.count >= 2 else {
            diagnostics.error(
                "'add' needs 'inputs' with at least two earlier layers (or use 'residual')", category: "MissingKey",
                at: location)
            return .poisoned
        }
        var shapes: [Shape] = []
        for (flow, _) in flows {
            guard let shape = flow.shape else { return .poisoned }
            shapes.append(shape)
        }
        for (index, shape) in shapes.enumerated() where shape != shapes[0] {
            diagnostics.error(
                "'\(path.joined(separator: "."))' adds '\(layers[flows[0].0.layer].name)' (\(shapes[0])) to '\(layers[flows[index].0.layer].name)' (\(shape)); added tensors need the same shape",
                category: "ShapeMismatch", at: flows[index].1)
            return .poisoned
        }
        return addLayer(
            path: path, op: .add, inputs: flows.map { $0.0.layer }, shape: shapes[0],
            otherOps: shapes[0].elementCount * (flows.count - 1), location: location)
    }

    /// PyTorch's `a * b` for what CNNs multiply: equal shapes, or a C×1×1 gate broadcast over a C×H×W map.
    mutating func multiply(_ flows: [(Flow, SourceLocation)], path: [String], location: SourceLocation) -> Flow {
        guard flows.count >= 2 else {
            diagnostics.error(
                "'multiply' needs 'inputs' with at least two earlier layers", category: "MissingKey", at: location)
            return .poisoned
        }
        var shapes: [Shape] = []
        for (flow, _) in flows {
            guard let shape = flow.shape else { return .poisoned }
            shapes.append(shape)
        }
        // The result has the largest input's shape; every other input equals it or is its C×1×1.
        let result = shapes.max { $0.elementCount < $1.elementCount }!
        for (index, shape) in shapes.enumerated() where shape != result {
            let broadcasts = result.isFeatureMap && shape == .chw(result.channels, 1, 1)
            guard broadcasts else {
                let largest = layers[flows[shapes.firstIndex(of: result)!].0.layer].name
                let allowed = result.isFeatureMap ? "the same shape, or \(result.channels)×1×1 to scale each channel" : "the same shape"
                diagnostics.error(
                    "'\(path.joined(separator: "."))' multiplies '\(largest)' (\(result)) by '\(layers[flows[index].0.layer].name)' (\(shape)); the other input must have \(allowed)",
                    category: "ShapeMismatch", at: flows[index].1)
                return .poisoned
            }
        }
        return addLayer(
            path: path, op: .multiply, inputs: flows.map { $0.0.layer }, shape: result,
            otherOps: result.elementCount * (flows.count - 1), location: location)
    }

    /// PyTorch's `F.interpolate(x, size | scale_factor, mode, align_corners)`; `like` is `size=other.shape[-2:]`.
    mutating func upsample(
        _ input: Flow, shape: Shape, arguments: LayerArguments, name: String, path: [String], scope: NameScope,
        location: SourceLocation
    ) -> Flow {
        let sizeKeys = ["size", "like", "scale"].filter(arguments.has)
        guard sizeKeys.count == 1 else {
            let message = sizeKeys.isEmpty
                ? "'\(name)' (upsample) needs one of 'size', 'like' or 'scale'"
                : "'\(name)' (upsample) takes one of 'size', 'like' or 'scale', not \(sizeKeys.map { "'\($0)'" }.joined(separator: " and "))"
            diagnostics.error(message, category: sizeKeys.isEmpty ? "MissingKey" : "InvalidValue", at: location)
            return .poisoned
        }
        let bilinear = arguments.string("mode") == "bilinear"
        if arguments.has("align_corners"), !bilinear {
            diagnostics.error(
                "'\(name)' sets 'align_corners', which only bilinear upsampling has (PyTorch refuses it for nearest)",
                category: "InvalidValue", at: arguments.location("align_corners") ?? location)
            return .poisoned
        }
        var size = Pair(shape.height, shape.width)
        var scale: Double?
        if let given = arguments.optionalPair("size") {
            size = given
        } else if let reference = arguments.string("like") {
            let at = arguments.location("like") ?? location
            guard let other = resolve(Located(reference, at: at), from: scope), let otherShape = other.shape else {
                return .poisoned
            }
            guard otherShape.isFeatureMap else {
                diagnostics.error(
                    "'\(name)' takes its size from '\(layers[other.layer].name)', which gives \(otherShape), not a C×H×W map",
                    category: "ShapeMismatch", at: at)
                return .poisoned
            }
            size = Pair(otherShape.height, otherShape.width)
        } else {
            let factor = arguments.number("scale", default: 1)
            // PyTorch's output size: floor(in · scale), computed in double.
            let height = (Double(shape.height) * factor).rounded(.down), width = (Double(shape.width) * factor).rounded(.down)
            guard factor > 0, factor.isFinite, height >= 1, width >= 1, height < 1e9, width < 1e9 else {
                diagnostics.error(
                    "'\(name)' scales \(shape.height)×\(shape.width) by \(factor), which gives no pixels; 'scale' must make each side at least 1",
                    category: "InvalidValue", at: arguments.location("scale") ?? location)
                return .poisoned
            }
            size = Pair(Int(height), Int(width))
            scale = factor
        }
        guard let out = checkedShape([shape.channels, size.h, size.w], name: name, location: location) else {
            return .poisoned
        }
        let upsampling = Upsampling(
            mode: bilinear ? .bilinear : .nearest, alignCorners: arguments.bool("align_corners", default: false),
            scale: scale)
        return addLayer(
            path: path, op: .upsample(upsampling), inputs: [input.layer], shape: out,
            otherOps: out.elementCount * (bilinear ? 3 : 0), location: location)
    }

    /// torchvision's SqueezeExcitation as its modules: `avgpool`, `fc1` (1×1 conv to the squeeze channels),
    /// `activation`, `fc2` (1×1 conv back), `scale_activation`, and the product with the input, which takes the
    /// block's own name (its forward returns `scale * input`).
    mutating func squeezeExcitation(
        _ input: Flow, shape: Shape, squeezeChannels: Int, activation: Activation?, gate: Activation?, path: [String],
        location: SourceLocation
    ) -> Flow {
        scopes.append(Scope(path: path, kind: LayerKind.squeezeExcitation.spelling))
        var flow = addLayer(
            path: path + ["avgpool"], op: .globalPool(.average), inputs: [input.layer],
            shape: .chw(shape.channels, 1, 1), otherOps: shape.elementCount, location: location)
        func pointwise(_ name: String, _ inChannels: Int, _ filters: Int, from input: Flow) -> Flow? {
            let conv = Convolution(
                inChannels: inChannels, filters: filters, kernel: Pair(1, 1), stride: Pair(1, 1), padding: .zero,
                dilation: Pair(1, 1), groups: 1, bias: true)
            return addConvolution(conv, path: path + [name], input: input, inputShape: .chw(inChannels, 1, 1), location: location)
        }
        guard let squeezed = pointwise("fc1", shape.channels, squeezeChannels, from: flow) else { return .poisoned }
        flow = squeezed
        if let activation {
            flow = addLayer(
                path: path + ["activation"], op: .activation(activation), inputs: [flow.layer],
                shape: .chw(squeezeChannels, 1, 1), otherOps: squeezeChannels, location: location)
        }
        guard let expanded = pointwise("fc2", squeezeChannels, shape.channels, from: flow) else { return .poisoned }
        flow = expanded
        if let gate {
            flow = addLayer(
                path: path + ["scale_activation"], op: .activation(gate), inputs: [flow.layer],
                shape: .chw(shape.channels, 1, 1), otherOps: shape.channels, location: location)
        }
        return addLayer(
            path: path, op: .multiply, inputs: [input.layer, flow.layer], shape: shape, otherOps: shape.elementCount,
            location: location)
    }

    // MARK: Shared rules

    mutating func addConvolution(
        _ conv: Convolution, path: [String], input: Flow, inputShape shape: Shape, location: SourceLocation,
        arguments: LayerArguments? = nil
    ) -> Flow? {
        let name = path.joined(separator: ".")
        guard
            let size = spatialOutput(
                name: name, input: input, shape: shape, kernel: conv.kernel, stride: conv.stride, padding: conv.padding,
                dilation: conv.dilation, ceilMode: false, isPool: false, arguments: arguments, location: location)
        else { return nil }
        guard let out = checkedShape([conv.filters, size.h, size.w], name: name, location: location),
            let macs = checkedCost(
                [out.elementCount, conv.inChannels / conv.groups, conv.kernel.h, conv.kernel.w], name: name,
                location: location),
            let parameters = weightAndBias(
                path, weight: [conv.filters, conv.inChannels / conv.groups, conv.kernel.h, conv.kernel.w],
                bias: conv.bias ? conv.filters : nil, location: location)
        else { return nil }
        let elements = out.elementCount
        return addLayer(
            path: path, op: .conv(conv), inputs: [input.layer], shape: out, parameters: parameters,
            macs: macs, otherOps: (conv.bias ? elements : 0) + (conv.activation != nil ? elements : 0),
            location: location)
    }

    mutating func addBatchNorm(path: [String], input: Flow, epsilon: Double, location: SourceLocation) -> Flow {
        guard let shape = input.shape else { return .poisoned }
        let name = path.joined(separator: ".")
        let channels = shape.channels
        return addLayer(
            path: path, op: .batchNorm(epsilon: epsilon), inputs: [input.layer], shape: shape,
            parameters: [
                Parameter(name: name + ".weight", shape: [channels], trainable: true),
                Parameter(name: name + ".bias", shape: [channels], trainable: true),
                Parameter(name: name + ".running_mean", shape: [channels], trainable: false),
                Parameter(name: name + ".running_var", shape: [channels], trainable: false),
            ], otherOps: 2 * shape.elementCount, location: location)
    }

    /// The weight (and bias) of a conv or dense layer; nil, after an error, when the weight is impossibly large.
    mutating func weightAndBias(_ path: [String], weight: [Int], bias: Int?, location: SourceLocation) -> [Parameter]? {
        let name = path.joined(separator: ".")
        guard checkedShape(weight, name: name, location: location) != nil else { return nil }
        var parameters = [Parameter(name: name + ".weight", shape: weight, trainable: true)]
        if let bias { parameters.append(Parameter(name: name + ".bias", shape: [bias], trainable: true)) }
        return parameters
    }

    mutating func checkGroups(
        _ groups: Int, inChannels: Int, filters: Int, name: String, arguments: LayerArguments, location: SourceLocation,
        input: Flow
    ) -> Bool {
        if inChannels % groups != 0 {
            diagnostics.error(
                "'\(name)': groups \(groups) does not divide the \(inChannels) input channels",
                category: "InvalidValue", at: arguments.location("groups") ?? location, notes: producerNote(input))
            return false
        }
        if filters % groups != 0 {
            diagnostics.error(
                "'\(name)': groups \(groups) does not divide the \(filters) filters", category: "InvalidValue",
                at: arguments.location("groups") ?? arguments.location("filters") ?? location)
            return false
        }
        return true
    }

    /// TensorFlow's `same`: output = ceil(input / stride), the odd padding pixel at the bottom/right.
    /// With stride 1 this is PyTorch's `padding='same'`.
    func samePadding(shape: Shape, kernel: Pair, stride: Pair, dilation: Pair) -> Padding {
        func split(_ input: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
            let out = (input + s - 1) / s
            let total = max((out - 1) * s + d * (k - 1) + 1 - input, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = split(shape.height, kernel.h, stride.h, dilation.h)
        let (left, right) = split(shape.width, kernel.w, stride.w, dilation.w)
        return Padding(top: top, bottom: bottom, left: left, right: right)
    }

    // MARK: Products without overflow

    mutating func checkedProduct(_ factors: [Int], name: String, location: SourceLocation) -> Int? {
        var result = 1
        for factor in factors {
            let (product, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow {
                diagnostics.error(
                    "'\(name)': \(factors.map(String.init).joined(separator: " · ")) overflows 64-bit integers",
                    category: "Overflow", at: location)
                return nil
            }
            result = product
        }
        return result
    }

    /// A per-layer count (MACs, other ops) with overflow checked and capped at 2^42, so model totals fit easily.
    mutating func checkedCost(_ factors: [Int], name: String, location: SourceLocation) -> Int? {
        guard let value = checkedProduct(factors, name: name, location: location) else { return nil }
        guard value <= 1 << 42 else {
            diagnostics.error(
                "'\(name)' would take \(grouped(value)) operations; convc accepts at most 2^42 per layer",
                category: "TooLarge", at: location)
            return nil
        }
        return value
    }

    mutating func checkedShape(_ dims: [Int], name: String, location: SourceLocation) -> Shape? {
        guard let count = checkedProduct(dims, name: name, location: location) else { return nil }
        guard count <= ElaborationLimits.maximumElements else {
            diagnostics.error(
                "'\(name)' would produce \(Shape(dims)) = \(grouped(count)) values; convc accepts at most 2^40 per tensor",
                category: "TooLarge", at: location)
            return nil
        }
        return Shape(dims)
    }

    // MARK: Describing producers

    func describeProducer(_ flow: Flow) -> String {
        flow.layer == 0 ? "the input" : "'\(layers[flow.layer].name)'"
    }

    func producerNote(_ flow: Flow) -> [Note] {
        let layer = layers[flow.layer]
        if flow.layer == 0 { return [Note("the input is \(layer.outputShape) here", at: layer.location)] }
        return [Note("'\(layer.name)' gives \(layer.outputShape) here", at: layer.location)]
    }
}
