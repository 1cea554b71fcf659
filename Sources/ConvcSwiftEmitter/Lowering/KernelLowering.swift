// One kernel plan → one specialised function. Lowering sees the plan and the target's tiles, nothing of the model,
// so a function is the same for every step with the same plan. Legend: oc ic oh ow kh kw; shapes (C, H, W);
// `&+ &*` on indices whose bounds are literals and proven.

import ConvcIR

/// Writes the function of one kernel plan.
struct KernelLowering {
    let plan: KernelPlan
    let tiling: Tiling

    /// The parameters of a kernel that has them.
    var weights: WeightLayout { plan.weights! }

    /// `static func name(x, [x1, …], [w], y, [indices], [scratch], [threads])`, its body the plan's kernel.
    func lowerFunction(name: String, into w: inout SwiftWriter) {
        var parameters = (0..<plan.arguments).map { "_ x\($0 == 0 ? "" : String($0)): UnsafePointer<Float>" }
        if plan.indices == .reads { parameters.append("_ indices: UnsafePointer<Float>") }
        if plan.weights != nil { parameters.append("_ w: UnsafePointer<Float>") }
        parameters.append("_ y: UnsafeMutablePointer<Float>")
        if plan.indices == .writes { parameters.append("_ indices: UnsafeMutablePointer<Float>") }
        if plan.scratchFloats > 0 { parameters.append("_ scratch: UnsafeMutablePointer<Float>") }
        if plan.takesThreads { parameters.append("_ threads: Int") }
        w.line("@inline(never)")
        w.block("static func \(name)(\(parameters.joined(separator: ", ")))") { w in
            let (inputs, output) = (plan.inputs, plan.output)
            w.comment("x: \(inputs.map(\.description).joined(separator: ", "))\(plan.layout.input ? " NCHWc" : "")   y: \(output)\(plan.layout.output ? " NCHWc" : "")")
            switch plan.kernel {
            case .convolution(let c, let algorithm): lowerConvolution(c, algorithm, into: &w)
            case .transposedConvolution(let c): lowerTransposedConvolution(c, input: inputs[0], output: output, into: &w)
            case .dense(let inFeatures, let units): lowerDense(inFeatures: inFeatures, units: units, into: &w)
            case .vectorMaxPool(let p, let columns): lowerVectorMaxPool(p, columns: columns, input: inputs[0], output: output, into: &w)
            case .pool(let p): lowerPooling(p, input: inputs[0], output: output, into: &w)
            case .globalPool(let kind): lowerGlobalPool(kind, input: inputs[0], into: &w)
            case .nchwcAveragePool: lowerNCHWcAveragePool(input: inputs[0], into: &w)
            case .adaptiveAveragePool(let size): lowerAdaptivePool(size, input: inputs[0], into: &w)
            case .maxUnpool: lowerMaxUnpool(input: inputs[0], output: output, into: &w)
            case .batchNorm: lowerBatchNorm(output, into: &w)
            case .layerNorm(let epsilon): lowerLayerNorm(epsilon: epsilon, output: output, into: &w)
            case .localResponseNorm(let size, let alpha, let beta, let k):
                lowerLocalResponseNorm(size: size, alpha: alpha, beta: beta, k: k, input: inputs[0], into: &w)
            case .activation: lowerActivation(output, into: &w)
            case .prelu: lowerPReLU(output, into: &w)
            case .softmax: lowerSoftmax(input: inputs[0], into: &w)
            case .add: lowerAdd(output, operands: inputs.count, into: &w)
            case .multiply: lowerMultiply(inputs, output: output, into: &w)
            case .concat: lowerConcat(inputs, into: &w)
            case .channelPad: lowerChannelPad(input: inputs[0], output: output, into: &w)
            case .channelShuffle(let groups): lowerChannelShuffle(groups: groups, input: inputs[0], into: &w)
            case .upsample(let upsampling): lowerUpsample(upsampling, input: inputs[0], output: output, into: &w)
            case .channelSlice(let start):
                w.line("y.update(from: x\(plus(Index(start * output.height * output.width))), count: \(literal(output.elementCount)))")
            case .copy:
                // Never steps (their output is their input's buffer); were one planned, this is what it means.
                w.line("y.update(from: x, count: \(literal(output.elementCount)))")
            }
        }
    }

    func lowerConvolution(_ c: Convolution, _ algorithm: ConvolutionAlgorithm, into w: inout SwiftWriter) {
        let (input, output) = (plan.inputs[0], plan.output)
        switch algorithm {
        case .depthwise(let depthwise): lowerDepthwise(c, depthwise, input: input, output: output, into: &w)
        case .nchwcDepthwise: lowerNCHWcDepthwise(c, input: input, output: output, into: &w)
        case .channelVectors(let vectors): lowerChannelVectors(c, vectors, input: input, output: output, into: &w)
        case .pixelGroups(let groups): lowerPixelGroups(c, groups, input: input, output: output, into: &w)
        case .winograd(let winograd): lowerWinograd(c, winograd, input: input, output: output, into: &w)
        case .pointwise(let pointwise): lowerPointwise(c, pointwise, output: output, into: &w)
        case .flat(let flat): lowerFlatConvolution(c, flat, input: input, output: output, into: &w)
        case .blocked(let blocked): lowerBlocked(c, blocked, input: input, output: output, into: &w)
        }
    }

    // MARK: The epilogue

    /// The activation applied in an output loop: a Swift expression of `v`.
    var activationExpression: String? {
        switch plan.epilogue.activation {
        case nil: nil
        case .relu: "max(v, 0)"
        case .relu6: "min(max(v, 0), 6)"
        case .leakyReLU(let slope): "v >= 0 ? v : v * \(literal(slope))"
        case .sigmoid: "1 / (1 + exp(-v))"
        case .tanh: "tanh(v)"
        case .silu: "v / (1 + exp(-v))"
        case .hardswish: "v * min(max(v + 3, 0), 6) / 6"
        case .hardsigmoid: "min(max(v + 3, 0), 6) / 6"
        case .gelu(tanh: false): "v * 0.5 * (1 + erf(v * 0.70710678118654752))"
        case .gelu(tanh: true): "0.5 * v * (1 + tanh(0.79788456080286536 * (v + 0.044715 * v * v * v)))"
        }
    }

    /// The activation as an expression over a vector `v` (vector operations where they exist).
    func vectorActivation(_ v: String) -> String {
        switch plan.epilogue.activation {
        case .relu: "Self.relu(\(v))"
        case .relu6: "Self.relu6(\(v))"
        case .leakyReLU(let slope): "\(v).replacing(with: \(v) * \(literal(slope)), where: \(v) .< 0)"
        case .hardswish: "Self.hardswish(\(v))"
        case .hardsigmoid: "Self.hardsigmoid(\(v))"
        case .sigmoid: "Self.sigmoid(\(v))"
        case .silu: "Self.silu(\(v))"
        case .tanh, .gelu: "Self.activate(\(v), { v in \(activationExpression!) })"
        case nil: v
        }
    }

    /// The value stored for accumulator `v` (of `lanes` floats) at output index `index` (`count` lanes valid): plus
    /// the fused residual there, then the activation.
    func finished(_ v: String, index: String, count: String, lanes: Int = 16) -> String {
        guard plan.epilogue.residual else { return vectorActivation(v) }
        return vectorActivation("Self.plus\(lanes)(\(v), \(plan.residualArgument) + (\(index)), count: \(count))")
    }

    /// Writes `y[i] = activation(y[i])` over `count` values starting at `base`, if the step has an activation.
    func applyActivation(base: String, count: Int, into w: inout SwiftWriter) {
        guard let expression = activationExpression else { return }
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = \(base)[i]")
            w.line("\(base)[i] = \(expression)")
        }
    }
}
