// Turns the checked model into steps: folds batch norm into the conv or dense layer before it, moves the
// following activation into that layer's output loop, and lets dropout, identity and flatten share buffers.

import ConvcIR
import Foundation

struct Planner {
    let model: Model
    let weights: [String: [Float]]
    var steps: [Step] = []
    var bufferOf: [Int]
    var scratchFloats = 0
    /// Which batch norm and activation fold into which layer: the same decisions the emitter makes.
    let execution: [Int: PlannedStep]
    let absorbed: Set<Int>

    init(model: Model, weights: [String: [Float]]) {
        self.model = model
        self.weights = weights
        bufferOf = Array(0..<model.layers.count)
        // Folding only: the interpreter runs adds and concats as layers on buffers of its own.
        let plan = planExecution(model, options: .foldingOnly)
        execution = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.layer, $0) })
        absorbed = Set(plan.steps.flatMap { [$0.foldedBatchNorm, $0.fusedActivation].compactMap { $0 } })
    }

    func parameter(_ layer: Layer, _ suffix: String) -> [Float]? { weights[layer.name + "." + suffix] }

    /// The batch norm the plan folds into `id`, as per-output-channel scale and shift.
    func foldBatchNorm(after id: Int, channels: Int) -> (scale: [Float], shift: [Float], last: Int)? {
        guard let bn = execution[id]?.foldedBatchNorm.map({ model.layers[$0] }), case .batchNorm(let epsilon) = bn.op,
            let gamma = parameter(bn, "weight"), let beta = parameter(bn, "bias"),
            let mean = parameter(bn, "running_mean"), let variance = parameter(bn, "running_var"),
            gamma.count == channels
        else { return nil }
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(beta[c]) - Double(mean[c]) * s)
        }
        return (scale, shift, bn.id)
    }

    /// The activation the plan applies in the output loop of step `id`.
    func fuseActivation(of id: Int) -> (Epilogue.Activation, Int)? {
        guard let fused = execution[id]?.fusedActivation, case .activation(let activation) = model.layers[fused].op
        else { return nil }
        return (epilogueActivation(activation), fused)
    }

    mutating func plan() {
        for layer in model.layers.dropFirst() where !absorbed.contains(layer.id) {
            let inputs = layer.inputs.map { bufferOf[$0] }
            let inputShape = model.layers[layer.inputs.first ?? 0].outputShape
            switch layer.op {
            case .input:
                continue
            case .dropout, .identity, .flatten:
                bufferOf[layer.id] = inputs[0]
                continue
            case .conv(let conv):
                planConvolution(layer, conv, input: inputs[0], inputShape: inputShape, transposed: false)
            case .convTranspose(let conv):
                planConvolution(layer, conv, input: inputs[0], inputShape: inputShape, transposed: true)
            case .dense(let inFeatures, let units, _, let activation):
                var weight = parameter(layer, "weight")!
                var bias = parameter(layer, "bias") ?? [Float](repeating: 0, count: units)
                var epilogue = activation.map(epilogueActivation) ?? .none
                var last = layer.id
                var covered: [Int] = []
                if activation == nil, let folded = foldBatchNorm(after: layer.id, channels: units) {
                    for u in 0..<units {
                        for i in 0..<inFeatures { weight[u * inFeatures + i] *= folded.scale[u] }
                        bias[u] = bias[u] * folded.scale[u] + folded.shift[u]
                    }
                    last = folded.last
                    covered.append(last)
                }
                if activation == nil, let (fused, fusedLast) = fuseActivation(of: layer.id) {
                    epilogue = fused
                    covered.append(fusedLast)
                }
                add(Step(inputs: inputs, output: layer.id, outputShape: layer.outputShape, kind: .dense(
                    DensePlan(inFeatures: inFeatures, units: units, weight: weight, bias: bias, activation: epilogue))),
                    covering: covered)
            case .batchNorm(let epsilon):
                let channels = layer.outputShape.channels
                let gamma = parameter(layer, "weight")!, beta = parameter(layer, "bias")!
                let mean = parameter(layer, "running_mean")!, variance = parameter(layer, "running_var")!
                var scale = [Float](repeating: 0, count: channels), shift = scale
                for c in 0..<channels {
                    let s = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
                    scale[c] = Float(s)
                    shift[c] = Float(Double(beta[c]) - Double(mean[c]) * s)
                }
                var activation = Epilogue.Activation.none
                var covered: [Int] = []
                if let (fused, fusedLast) = fuseActivation(of: layer.id) {
                    activation = fused
                    covered.append(fusedLast)
                }
                add(Step(inputs: inputs, output: layer.id, outputShape: layer.outputShape,
                    kind: .affine(scale: scale, shift: shift, activation: activation)), covering: covered)
            case .scale:
                let factors = weights[layer.name]!
                add(Step(inputs: inputs, output: layer.id, outputShape: layer.outputShape,
                    kind: .affine(scale: factors, shift: [Float](repeating: 0, count: factors.count), activation: .none)))
            case .layerNorm(let epsilon):
                add(Step(inputs: inputs, output: layer.id, outputShape: layer.outputShape,
                    kind: .layerNorm(weight: parameter(layer, "weight")!, bias: parameter(layer, "bias")!, epsilon: Float(epsilon))))
            case .prelu(let perChannel):
                let slopes = parameter(layer, "weight")!
                let channels = layer.outputShape.channels
                add(Step(inputs: inputs, output: layer.id, outputShape: layer.outputShape,
                    kind: .prelu(perChannel ? slopes : [Float](repeating: slopes[0], count: channels))))
            case .pool(let pooling): addReference(.pool(pooling), for: layer)
            case .maxUnpool(_, _, _, let pool): addReference(.maxUnpool(indicesFrom: pool), for: layer)
            case .globalPool(let kind): addReference(.globalPool(kind), for: layer)
            case .adaptiveAvgPool(let output): addReference(.adaptiveAvgPool(output: output), for: layer)
            case .localResponseNorm(let size, let alpha, let beta, let k):
                addReference(.localResponseNorm(size: size, alpha: alpha, beta: beta, k: k), for: layer)
            case .activation(let activation): addReference(.activation(activation), for: layer)
            case .softmax: addReference(.softmax, for: layer)
            case .add: addReference(.add, for: layer)
            case .multiply: addReference(.multiply, for: layer)
            case .concat: addReference(.concat, for: layer)
            case .channelPad: addReference(.channelPad, for: layer)
            case .channelShuffle(let groups): addReference(.channelShuffle(groups: groups), for: layer)
            case .upsample(let upsampling): addReference(.upsample(upsampling), for: layer)
            case .channelSlice(let start, _): addReference(.channelSlice(start: start), for: layer)
            }
        }
    }

    /// Appends a step that a reference kernel runs.
    mutating func addReference(_ op: Step.ReferenceOp, for layer: Layer) {
        add(Step(inputs: layer.inputs.map { bufferOf[$0] }, output: layer.id, outputShape: layer.outputShape,
            kind: .generic(op, inputShapes: layer.inputs.map { model.layers[$0].outputShape })))
    }

    /// Appends a step; `covering` lists the layers fused into it, whose outputs are its buffer.
    mutating func add(_ step: Step, covering fused: [Int] = []) {
        bufferOf[step.output] = step.output
        for id in fused { bufferOf[id] = step.output }
        steps.append(step)
    }

    mutating func planConvolution(_ layer: Layer, _ conv: Convolution, input: Int, inputShape: Shape, transposed: Bool) {
        var weight = parameter(layer, "weight")!
        var conv = conv
        if !transposed, let live = conv.liveTaps(input: inputShape, output: layer.outputShape) {
            weight = live.crop(weight)
            conv = live.conv
        }
        var bias = parameter(layer, "bias")
        var activation = conv.activation.map(epilogueActivation) ?? .none
        var last = layer.id
        var covered: [Int] = []
        let outChannels = conv.filters
        let groups = conv.groups
        let taps = conv.kernel.h * conv.kernel.w
        if conv.activation == nil, let folded = foldBatchNorm(after: layer.id, channels: outChannels) {
            if transposed {
                // weight [Cin, Cout/g, kh, kw]: output channel g·(Cout/g) + o
                let inPerGroup = conv.inChannels / groups, outPerGroup = outChannels / groups
                for ic in 0..<conv.inChannels {
                    let g = ic / inPerGroup
                    for o in 0..<outPerGroup {
                        let s = folded.scale[g * outPerGroup + o]
                        for t in 0..<taps { weight[(ic * outPerGroup + o) * taps + t] *= s }
                    }
                }
            } else {
                let perFilter = weight.count / outChannels
                for oc in 0..<outChannels {
                    for i in 0..<perFilter { weight[oc * perFilter + i] *= folded.scale[oc] }
                }
            }
            var newBias = [Float](repeating: 0, count: outChannels)
            for oc in 0..<outChannels { newBias[oc] = (bias?[oc] ?? 0) * folded.scale[oc] + folded.shift[oc] }
            bias = newBias
            last = folded.last
            covered.append(last)
        }
        if conv.activation == nil, let (fused, fusedLast) = fuseActivation(of: layer.id) {
            activation = fused
            covered.append(fusedLast)
        }
        let geometry = ConvGeometry(conv: conv, input: inputShape, output: layer.outputShape)
        let kind: Step.Kind
        if transposed {
            let plan = ConvTransposePlan(geometry: geometry, weight: weight, bias: bias, activation: activation)
            scratchFloats = max(scratchFloats, plan.scratchFloats)
            kind = .convTranspose(plan)
        } else if groups == conv.inChannels && groups == outChannels && groups > 1 {
            kind = .depthwise(DepthwisePlan(geometry: geometry, weight: weight, bias: bias, activation: activation))
        } else {
            let plan = ConvPlan(geometry: geometry, weight: weight, bias: bias, activation: activation)
            scratchFloats = max(scratchFloats, plan.scratchFloats)
            kind = .conv(plan)
        }
        add(Step(inputs: [input], output: layer.id, outputShape: layer.outputShape, kind: kind), covering: covered)
    }
}

func epilogueActivation(_ activation: Activation) -> Epilogue.Activation {
    switch activation {
    case .relu: .relu
    case .relu6: .relu6
    case .leakyReLU(let slope): .leakyReLU(Float(slope))
    case .sigmoid: .sigmoid
    case .tanh: .tanh
    case .silu: .silu
    case .hardswish: .hardswish
    case .hardsigmoid: .hardsigmoid
    case .gelu(let tanh): tanh ? .geluTanh : .gelu
    }
}
