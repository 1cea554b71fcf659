// Which activations the emitted code keeps in the NCHWc layout (eight channels per pixel) instead of NCHW.

import ConvcIR

extension StepPlanner {
    /// The step layers whose outputs are NCHWc: chains of 1×1 and depthwise convs (MobileNet's whole body), where
    /// a pixel's channels are one vector. In isolation, MobileNet's 1×1 convs took 0.55–0.97 of their NCHW time
    /// and its depthwise convs 0.32–0.93. A tensor is NCHWc when its producer can write it so and every step that
    /// reads it can read it so; the network's input and output, residuals and concat slices stay NCHW.
    func planNCHWc() -> Set<Int> {
        // AVX-512's tiles are sixteen lanes wide; the layout is for eight.
        guard tiling.lanes == nchwcLanes else { return [] }
        var readers: [Int: [PlannedStep]] = [:]
        for step in execution.steps {
            for input in Set(step.inputs) { readers[input, default: []].append(step) }
        }
        let output = execution.bufferOf[model.outputLayer]
        // A slice of an in-place concat is part of an NCHW buffer, whatever its other readers could read.
        let slices = Set(execution.inPlaceConcats.flatMap { layer($0).inputs.map { execution.bufferOf[$0] } })
        var chosen: Set<Int> = []
        for step in execution.steps where step.layer != output && !slices.contains(step.layer) && writesNCHWc(step) {
            guard let readers = readers[step.layer], !readers.isEmpty,
                readers.allSatisfy({ readsNCHWc($0, from: step.layer) })
            else { continue }
            chosen.insert(step.layer)
        }
        // A depthwise conv runs NCHWc on both sides or on neither. A 1×1 conv that NCHW would run as pixel vectors
        // reads NCHWc only to write NCHWc: writing NCHW, pixel groups pay for their channel-by-channel write-out
        // (ResNet-50's 64→256 convs took 1.10–1.26 of their NCHW time; its 256→1024 ones, pixel groups either way,
        // 0.84–0.90).
        var changed = true
        while changed {
            changed = false
            for step in execution.steps where !step.inputs.isEmpty && chosen.contains(step.inputs[0]) != chosen.contains(step.layer) {
                let main = layer(step.layer)
                guard let c = convolution(main) else { continue }
                if isNCHWcDepthwise(step) {
                    chosen.remove(step.inputs[0])
                    chosen.remove(step.layer)
                    changed = true
                } else if chosen.contains(step.inputs[0]) && tiling.convolutionKind(c, output: main.outputShape) != .pixelGroups {
                    chosen.remove(step.inputs[0])
                    changed = true
                }
            }
        }
        return chosen
    }

    /// Whether a step's output and epilogue fit an NCHWc kernel: whole vectors of channels, no residual, an
    /// activation the vector code has.
    private func fitsNCHWc(_ step: PlannedStep) -> Bool {
        guard layer(step.layer).outputShape.channels % nchwcLanes == 0, step.fusedAdd == nil else { return false }
        switch activation(of: step) {
        case nil, .relu, .relu6: return true
        case .hardswish, .hardsigmoid: return true
        case .leakyReLU, .sigmoid, .tanh, .silu, .gelu: return false
        }
    }

    /// A depthwise conv the NCHWc kernel runs: kernels up to 3×3 (its taps' weight vectors stay in registers),
    /// undilated.
    func isNCHWcDepthwise(_ step: PlannedStep) -> Bool {
        guard let c = convolution(layer(step.layer)), tiling.convolutionKind(c, output: layer(step.layer).outputShape) == .depthwise
        else { return false }
        return fitsNCHWc(step) && c.kernel.h <= 3 && c.kernel.w <= 3 && c.dilation == Pair(1, 1)
    }

    /// Whether a step can write its output NCHWc: a depthwise conv, or a one-group conv whose filters fill pixel
    /// groups' channel vectors (Winograd's stays Winograd's, 2.25 times fewer multiply-adds than pixel groups).
    private func writesNCHWc(_ step: PlannedStep) -> Bool {
        if isGatedMap(step) {
            // Only after a map that can come NCHWc: converting an NCHW map here made EfficientNet-B0 slower.
            guard fitsNCHWc(step), let producer = execution.steps.first(where: { $0.layer == step.inputs[0] }) else { return false }
            return writesNCHWc(producer)
        }
        guard fitsNCHWc(step), let c = convolution(layer(step.layer)) else { return false }
        return isNCHWcDepthwise(step) || runsAsPixelGroups(step, c)
    }

    /// Whether `step` can read buffer `input` NCHWc: as a depthwise conv's input, a 1×1 stride-1 conv's (which
    /// reads it in place, uncopied, and may add an NCHW residual to its NCHW output), or a global average pool's.
    private func readsNCHWc(_ step: PlannedStep, from input: Int) -> Bool {
        let main = layer(step.layer)
        if isGatedMap(step) { return step.inputs.first == input && !step.inputs.dropFirst().contains(input) }
        // A one-input layer's step has a second input only for a fused residual, which stays NCHW.
        guard step.inputs.first == input, !step.inputs.dropFirst().contains(input), main.inputs.count == 1 else { return false }
        let inputShape = layer(main.inputs[0]).outputShape
        switch main.op {
        case .conv:
            guard let c = convolution(main) else { return false }
            if isNCHWcDepthwise(step) { return true }
            return isOneByOne(main) && runsAsPixelGroups(step, c)
                && !pixelGroupSource(c, input: inputShape, output: main.outputShape).copied
        case .pool, .globalPool, .adaptiveAvgPool:
            return isGlobalAverage(main)
        case .input, .convTranspose, .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .activation, .prelu, .softmax, .dropout,
            .flatten, .dense, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            return false
        }
    }

    /// A multiply of a map (its first input) by C×1×1 gates (squeeze-and-excitation's): the gates read the same in
    /// either layout, so the map may come and go NCHWc.
    func isGatedMap(_ step: PlannedStep) -> Bool {
        let main = layer(step.layer)
        guard case .multiply = main.op, main.outputShape.isFeatureMap else { return false }
        let shapes = main.inputs.map { layer($0).outputShape }
        return shapes[0] == main.outputShape && shapes.dropFirst().allSatisfy { $0 == .chw(main.outputShape.channels, 1, 1) }
    }

    /// A layer that averages each channel's whole map: a global or adaptive (1 × 1) average pool, or an average
    /// pool whose one window is the map.
    func isGlobalAverage(_ main: Layer) -> Bool {
        let input = layer(main.inputs[0]).outputShape
        switch main.op {
        case .globalPool(let kind): return kind == .average
        case .adaptiveAvgPool(let size): return size == Pair(1, 1)
        case .pool(let p):
            return p.kind == .average && p.padding == .zero && p.kernel == Pair(input.height, input.width)
                && main.outputShape.height == 1 && main.outputShape.width == 1
        case .input, .conv, .convTranspose, .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .activation, .prelu, .softmax,
            .dropout, .flatten, .dense, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            return false
        }
    }

    /// Whether a conv can run as pixel groups (which read and write NCHW or NCHWc): filters filling channel
    /// vectors, enough pixels.
    private func runsAsPixelGroups(_ step: PlannedStep, _ c: Convolution) -> Bool {
        let out = layer(step.layer).outputShape
        return tiling.pixelGroups && c.groups == 1 && c.filters % tiling.groupChannels == 0
            && out.height * out.width >= tiling.groupPixels
    }

    /// A 1×1 stride-1 undilated conv without padding.
    private func isOneByOne(_ main: Layer) -> Bool {
        guard let c = convolution(main) else { return false }
        return c.kernel == Pair(1, 1) && c.stride == Pair(1, 1) && c.padding == .zero && c.dilation == Pair(1, 1)
    }
}
