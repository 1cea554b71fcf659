// Receptive fields and activation memory: analyses over the checked model that every report format shares.

import ConvcIR

/// Receptive field of one layer's output, in input pixels: the window `size` one output value sees and the `jump`
/// between neighbouring outputs. Transposed convs and unpooling make the jump fractional.
public struct ReceptiveField: Hashable, Sendable {
    public var size: (h: Double, w: Double)
    public var jump: (h: Double, w: Double)

    public static func == (a: Self, b: Self) -> Bool {
        a.size == b.size && a.jump == b.jump
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(size.h)
        hasher.combine(size.w)
        hasher.combine(jump.h)
        hasher.combine(jump.w)
    }
}

/// Receptive fields of every layer; for layers with several inputs the largest over all paths.
public func receptiveFields(of model: Model) -> [ReceptiveField] {
    var fields: [ReceptiveField] = []
    fields.reserveCapacity(model.layers.count)
    for layer in model.layers {
        guard let first = layer.inputs.first else {
            fields.append(ReceptiveField(size: (1, 1), jump: (1, 1)))
            continue
        }
        var field = fields[first]
        for other in layer.inputs.dropFirst() {
            let rf = fields[other]
            field.size = (max(field.size.h, rf.size.h), max(field.size.w, rf.size.w))
            field.jump = (max(field.jump.h, rf.jump.h), max(field.jump.w, rf.jump.w))
        }
        // A C×1×1 gate broadcast over a map (squeeze-and-excitation) sees the whole input, but the output's pixels
        // keep the map's spacing: taking the gate's jump too made it grow with every block.
        let output = layer.outputShape
        let maps = layer.inputs.filter { input in
            let shape = model.layers[input].outputShape
            return !output.isFeatureMap || (shape.height == output.height && shape.width == output.width)
        }
        if maps.count < layer.inputs.count, let firstMap = maps.first {
            field.jump = maps.dropFirst().reduce(fields[firstMap].jump) { jump, input in
                (max(jump.h, fields[input].jump.h), max(jump.w, fields[input].jump.w))
            }
        }
        let inputShape = model.layers[first].outputShape
        func window(_ kernel: Pair, _ stride: Pair, _ dilation: Pair) {
            field.size.h += Double(dilation.h * (kernel.h - 1)) * field.jump.h
            field.size.w += Double(dilation.w * (kernel.w - 1)) * field.jump.w
            field.jump.h *= Double(stride.h)
            field.jump.w *= Double(stride.w)
        }
        func wholeInput() {
            guard inputShape.isFeatureMap else { return }
            window(Pair(inputShape.height, inputShape.width), Pair(inputShape.height, inputShape.width), Pair(1, 1))
        }
        switch layer.op {
        case .conv(let conv): window(conv.kernel, conv.stride, conv.dilation)
        case .pool(let pool): window(pool.kernel, pool.stride, pool.dilation)
        case .convTranspose(let conv):
            // An output value sees ceil(kernel / stride) neighbouring inputs.
            let taps = Pair(
                (conv.dilation.h * (conv.kernel.h - 1) + conv.stride.h) / conv.stride.h,
                (conv.dilation.w * (conv.kernel.w - 1) + conv.stride.w) / conv.stride.w)
            field.size.h += Double(taps.h - 1) * field.jump.h
            field.size.w += Double(taps.w - 1) * field.jump.w
            field.jump.h /= Double(conv.stride.h)
            field.jump.w /= Double(conv.stride.w)
        case .maxUnpool(_, let stride, _, _):
            field.jump.h /= Double(stride.h)
            field.jump.w /= Double(stride.w)
        case .globalPool, .flatten:
            wholeInput()
        case .adaptiveAvgPool(let output):
            let kernel = Pair(
                (inputShape.height + output.h - 1) / output.h, (inputShape.width + output.w - 1) / output.w)
            let stride = Pair(max(inputShape.height / output.h, 1), max(inputShape.width / output.w, 1))
            window(kernel, stride, Pair(1, 1))
        case .upsample(let upsampling):
            // Bilinear output pixels blend two neighbours per axis; either way the spacing shrinks by in/out.
            if upsampling.mode == .bilinear {
                field.size.h += field.jump.h
                field.size.w += field.jump.w
            }
            field.jump.h *= Double(inputShape.height) / Double(output.height)
            field.jump.w *= Double(inputShape.width) / Double(output.width)
        case .input, .batchNorm, .localResponseNorm, .layerNorm, .scale, .activation, .prelu, .softmax, .dropout, .dense, .add, .multiply, .concat,
            .channelPad, .channelShuffle, .channelSlice, .identity:
            // Point-wise, or (dense) after a flatten that already saw the whole input; softmax and LRN mix
            // channels only.
            break
        }
        fields.append(field)
    }
    return fields
}

/// Activation memory at batch 1 in fp32, following the execution order.
public struct MemoryPlan: Sendable {
    /// Largest total of tensors alive at once (inputs being read, the output being written, and everything
    /// still needed later), in bytes.
    public var peakBytes: Int
    /// The layer during which the peak occurs.
    public var peakLayer: Int
    /// Sum of every layer's output, for comparison (what a naive allocator would use).
    public var totalOutputBytes: Int
}

/// Computes peak live activation memory. Dropout, flatten and identity alias their input; max-pool indices kept for
/// an unpool count 4 bytes each (Int32) until the unpool has run.
public func memoryPlan(of model: Model) -> MemoryPlan {
    let count = model.layers.count
    // The buffer each layer's output lives in.
    var buffer = Array(0..<count)
    for layer in model.layers where layer.op.isAliasAtInference && !layer.inputs.isEmpty {
        buffer[layer.id] = buffer[layer.inputs[0]]
    }
    var lastUse = Array(repeating: -1, count: count)
    var indicesLastUse: [Int: Int] = [:]
    for layer in model.layers {
        for input in layer.inputs { lastUse[buffer[input]] = max(lastUse[buffer[input]], layer.id) }
        if case .maxUnpool(_, _, _, let pool) = layer.op {
            indicesLastUse[pool] = max(indicesLastUse[pool] ?? -1, layer.id)
        }
    }
    lastUse[buffer[model.outputLayer]] = count
    var bytes = Array(repeating: 0, count: count)
    var total = 0
    for layer in model.layers where buffer[layer.id] == layer.id {
        bytes[layer.id] = layer.outputShape.elementCount * 4
        total += bytes[layer.id]
    }
    // Sweep: add a buffer when defined, remove it after its last use.
    var frees = Array(repeating: 0, count: count + 1)
    var live = 0
    var peak = 0
    var peakLayer = 0
    for layer in model.layers {
        if buffer[layer.id] == layer.id {
            live += bytes[layer.id]
            let end = max(lastUse[layer.id], layer.id)
            if end < count { frees[end] += bytes[layer.id] }
        }
        if let end = indicesLastUse[layer.id] {
            let indexBytes = layer.outputShape.elementCount * 4
            live += indexBytes
            frees[end] += indexBytes
        }
        if live > peak {
            peak = live
            peakLayer = layer.id
        }
        live -= frees[layer.id]
    }
    return MemoryPlan(peakBytes: peak, peakLayer: peakLayer, totalOutputBytes: total)
}
