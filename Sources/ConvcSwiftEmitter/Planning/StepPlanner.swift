// The planning pass: for every step of the execution plan, the layout of its tensors and its kernel plan, then
// where each step's parameters and scratch go. Pure: a model and a target in, values out.

import ConvcIR

/// Every decision one emit makes, before any Swift is written.
struct EmissionPlan {
    let execution: ExecutionPlan
    /// Step layers whose outputs are NCHWc.
    let nchwc: Set<Int>
    /// Each step's kernel plan, by step layer.
    let kernels: [Int: KernelPlan]
    /// Where each step's parameters start in the flat weight buffer, in floats, by step layer. Every layer's
    /// weights start on a 64-byte line, so whole-vector loads of them never straddle two.
    let weightOffsets: [Int: Int]
    let parameterFloats: Int
    /// Floats of scratch after the arena: the largest padded copy any step makes.
    let scratchFloats: Int

    func kernel(_ step: PlannedStep) -> KernelPlan { kernels[step.layer]! }
}

/// Plans `model` for `target`.
func planEmission(_ model: Model, target: EmitTarget) -> EmissionPlan {
    var planner = StepPlanner(model: model, execution: planExecution(model), tiling: target.tiling)
    planner.nchwc = planner.planNCHWc()
    var kernels: [Int: KernelPlan] = [:]
    var weightOffsets: [Int: Int] = [:]
    var parameterFloats = 0, scratchFloats = 0
    for step in planner.execution.steps {
        let kernel = planner.kernelPlan(step)
        kernels[step.layer] = kernel
        scratchFloats = max(scratchFloats, kernel.scratchFloats)
        guard let weights = kernel.weights else { continue }
        weightOffsets[step.layer] = parameterFloats
        parameterFloats += (weights.count + 15) / 16 * 16
    }
    return EmissionPlan(
        execution: planner.execution, nchwc: planner.nchwc, kernels: kernels, weightOffsets: weightOffsets,
        parameterFloats: parameterFloats, scratchFloats: scratchFloats)
}

/// What the planning pass decides from: the model, its execution plan and the target's tiles.
struct StepPlanner {
    let model: Model
    let execution: ExecutionPlan
    let tiling: Tiling
    /// Step layers whose outputs are NCHWc, once `planNCHWc` has run.
    var nchwc: Set<Int> = []

    func layer(_ id: Int) -> Layer { model.layers[id] }

    /// A conv layer's conv as its kernels run it: on its live taps only, where some read nothing but padding.
    func convolution(_ main: Layer) -> Convolution? {
        guard case .conv(let c) = main.op else { return nil }
        return liveTaps(main)?.conv ?? c
    }

    func liveTaps(_ main: Layer) -> Convolution.LiveTaps? {
        guard case .conv(let c) = main.op else { return nil }
        return c.liveTaps(input: layer(main.inputs[0]).outputShape, output: main.outputShape)
    }

    /// The activation a step applies: its layer's own, or the one fused after it.
    func activation(of step: PlannedStep) -> Activation? {
        if let fused = step.fusedActivation, case .activation(let a) = layer(fused).op { return a }
        switch layer(step.layer).op {
        case .conv(let c), .convTranspose(let c): return c.activation
        case .dense(_, _, _, let a): return a
        case .activation(let a): return a
        case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .prelu, .softmax,
            .dropout, .flatten, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            return nil
        }
    }

    func kernelPlan(_ step: PlannedStep) -> KernelPlan {
        let main = layer(step.layer)
        let inputs = main.inputs.map { layer($0).outputShape }
        let output = main.outputShape
        let layout = NCHWcSides(input: nchwc.contains(step.inputs.first ?? 0), output: nchwc.contains(step.layer))
        var plan = KernelPlan(
            kernel: .copy, inputs: inputs, output: output, arguments: step.inputs.count, layout: layout,
            epilogue: Epilogue(residual: step.fusedAdd != nil, activation: activation(of: step)),
            weights: nil, scratchFloats: 0, takesThreads: false, indices: nil)
        // Per channel: scale (or slope) then shift.
        let perChannel = WeightLayout(biasOffset: output.channels, count: 2 * output.channels, arrangement: .pytorch)
        if layout.input && isGlobalAverage(main) {
            plan.kernel = .nchwcAveragePool
            return plan
        }
        switch main.op {
        case .conv(let stored):
            let live = liveTaps(main)
            let c = live?.conv ?? stored
            if isMatrixVector(c, input: inputs[0], epilogue: plan.epilogue) {
                // A 1×1 conv of a 1×1 map (squeeze-and-excitation's) is a dense layer: its weights are [out, in].
                plan.kernel = .dense(inFeatures: c.inChannels, units: c.filters)
                plan.weights = WeightLayout(biasOffset: c.inChannels * c.filters, count: (c.inChannels + 1) * c.filters, arrangement: .pytorch)
            } else {
                let algorithm = convolutionAlgorithm(c, input: inputs[0], output: output, layout: layout, epilogue: plan.epilogue)
                plan.kernel = .convolution(c.geometry, algorithm)
                plan.weights = convolutionWeights(c, algorithm, stored: c.filters * (c.inChannels / c.groups) * c.kernel.h * c.kernel.w)
                plan.scratchFloats = algorithm.scratchFloats(inChannels: c.inChannels, pixelTile: tiling.pixelTile)
            }
            plan.weights?.liveTaps = live
            plan.takesThreads = true
        case .convTranspose(let c):
            let stored = main.parameters[0].elementCount
            plan.kernel = .transposedConvolution(c.geometry)
            plan.weights = WeightLayout(biasOffset: stored, count: stored + c.filters, arrangement: .pytorch)
        case .dense(let inFeatures, let units, _, _):
            plan.kernel = .dense(inFeatures: inFeatures, units: units)
            plan.weights = WeightLayout(biasOffset: inFeatures * units, count: inFeatures * units + units, arrangement: .pytorch)
            plan.takesThreads = true
        case .pool(let p):
            let indexed = execution.indexedPools.contains(step.layer)
            if isVectorPool(p, indexed: indexed) {
                let columns = paddedWindows(kernel: p.kernel, stride: p.stride, dilation: p.dilation, padding: p.padding, input: inputs[0], output: output).columns
                plan.kernel = .vectorMaxPool(p.geometry, columns: columns)
                plan.takesThreads = true
            } else {
                plan.kernel = .pool(p.geometry)
                plan.indices = indexed ? .writes : nil
            }
        case .globalPool(let kind): plan.kernel = .globalPool(kind)
        case .adaptiveAvgPool(let size): plan.kernel = .adaptiveAveragePool(size)
        case .maxUnpool:
            plan.kernel = .maxUnpool
            plan.indices = .reads
        case .batchNorm, .scale:
            plan.kernel = .batchNorm
            plan.weights = perChannel
        case .layerNorm(let epsilon):
            plan.kernel = .layerNorm(epsilon: epsilon)
            plan.weights = perChannel
        case .localResponseNorm(let size, let alpha, let beta, let k):
            plan.kernel = .localResponseNorm(size: size, alpha: alpha, beta: beta, k: k)
        case .activation: plan.kernel = .activation
        case .prelu:
            plan.kernel = .prelu
            plan.weights = perChannel
        case .softmax: plan.kernel = .softmax
        case .add: plan.kernel = .add
        case .multiply: plan.kernel = .multiply
        case .concat: plan.kernel = .concat
        case .channelPad: plan.kernel = .channelPad
        case .channelShuffle(let groups): plan.kernel = .channelShuffle(groups: groups)
        case .upsample(let upsampling): plan.kernel = .upsample(upsampling)
        case .channelSlice(let start, _): plan.kernel = .channelSlice(start: start)
        case .input, .dropout, .flatten, .identity: plan.kernel = .copy
        }
        return plan
    }

    /// How a conv runs, with the tiles, bands and copies its kernel uses.
    func convolutionAlgorithm(_ c: Convolution, input: Shape, output: Shape, layout: NCHWcSides, epilogue: Epilogue) -> ConvolutionAlgorithm {
        let plane = output.height * output.width
        switch tiling.convolutionKind(c, output: output, nchwc: layout) {
        case .depthwise:
            return layout.output ? .nchwcDepthwise : .depthwise(depthwisePlan(c, input: input, output: output))
        case .channelVectors:
            let flattened = c.kernel == Pair(1, 1) && c.stride == Pair(1, 1) && c.padding == .zero
            // A 1×1 conv maps pixel to pixel, so its planes can be one long row: segments then cross row ends (a
            // 7×7 map runs as five segments of ten rather than seven of seven).
            return .channelVectors(channelVectorPlan(
                c, input: flattened ? .chw(input.channels, 1, input.height * input.width) : input,
                output: flattened ? .chw(output.channels, 1, plane) : output, flattened: flattened))
        case .pixelGroups: return .pixelGroups(pixelGroupPlan(c, input: input, output: output, layout: layout, epilogue: epilogue))
        case .winograd: return .winograd(WinogradPlan(c, input: input, output: output, minimumBandTiles: tiling.groupPixels))
        case .pointwise:
            guard plane >= tiling.pixelTile else { return .blocked(BlockedPlan(padded: nil)) }
            // Bands of pixels whose input (about 64 KB) stays in L1 and L2 while every filter block reads it.
            // Within a band each block sweeps the pixels, so its output rows are written as streams the hardware
            // prefetcher follows; pixel tiles outermost would write a line of every filter's row at once. L1-sized
            // bands (16 KB) ran faster alone but slower within a network, where the output and residual rows come
            // from memory in short runs.
            let tile = tiling.pixelTile
            return .pointwise(PointwisePlan(band: max(tile, 16_384 / c.inChannels / tile * tile)))
        case .flat:
            let padded = flatInput(c, input: input)
            // Bands of positions whose input (about 256 KB) stays in L2 while every block reads it.
            let tile = tiling.pixelTile
            let band = max(tile, 65_536 / (c.inChannels / c.groups * padded.phases) / tile * tile)
            return .flat(FlatPlan(rows: padded.rows, columns: padded.columns, phases: padded.phases, band: band))
        case .blocked:
            let padded = paddedInput(c, input: input, output: output)
            return .blocked(BlockedPlan(padded: PaddedPlanes(rows: padded.rows, columns: padded.columns)))
        }
    }

    /// Each channel is padded into a plane of the thread's own just before use: it stays in cache, and the input is
    /// read once. A small map's loads would wait on its copy's stores, still in flight (a 7×7 map ran five times
    /// slower), so two planes take turns there: the next channel is copied while this one is computed. Stride 2
    /// splits each padded channel into four phase planes (even/odd rows × columns) as it copies, so tap (i, j)
    /// reads phase (i % 2, j % 2) at (oh + i / 2, ow + j / 2): one load per tap, not two and a shuffle.
    func depthwisePlan(_ c: Convolution, input: Shape, output: Shape) -> DepthwisePlan {
        let padded = paddedInput(c, input: input, output: output)
        return DepthwisePlan(
            padded: PaddedPlanes(rows: padded.rows, columns: padded.columns),
            phased: c.stride == Pair(2, 2) && c.dilation == Pair(1, 1),
            phaseRows: max((padded.rows + 1) / 2, output.height + (c.kernel.h - 1) / 2),
            phaseColumns: max((padded.columns + 1) / 2, max(output.width, 16) + (c.kernel.w - 1) / 2),
            planes: input.width < 16 ? 2 : 1,
            // Four independent sums, so the taps' multiply-adds overlap (one sum would wait out each multiply-add's
            // latency).
            rows: min(output.height, 4))
    }

    func channelVectorPlan(_ c: Convolution, input: Shape, output: Shape, flattened: Bool) -> ChannelVectorPlan {
        // Segments of 8 to 14 pixels, the length that computes the fewest pixels twice (16 wide: two of 8).
        // Strided taps overlap (tap 0's pixel p + 1 is tap 2's pixel p), and swiftc keeps the shared input values
        // in registers across taps; with 28 accumulators that spills, so strided convs take 4 to 7 pixels.
        let longest = c.stride.w > 1 && c.kernel.w > 1 ? 7 : 14
        let pixels = output.width <= longest
            ? output.width
            : ((longest + 1) / 2...longest).min { a, b in
                let (wasteA, wasteB) = ((output.width + a - 1) / a * a, (output.width + b - 1) / b * b)
                return wasteA != wasteB ? wasteA < wasteB : a > b
            }!
        let padded = c.padding == .zero ? nil : PaddedPlanes(
            rows: input.height + c.padding.top + c.padding.bottom, columns: input.width + c.padding.left + c.padding.right)
        let columns = padded?.columns ?? input.width
        // Bands of output rows whose input rows (about 256 KB) stay in L2 while every block reads them.
        let bandRows = min(output.height, max(1, (65_536 / (c.inChannels * columns) - (c.kernel.h - 1) * c.dilation.h) / c.stride.h))
        return ChannelVectorPlan(pixels: pixels, bandRows: bandRows, padded: padded, flattened: flattened)
    }

    /// Every band reads all the weights, and every block of filters reads the band's input. Where the input is
    /// the larger, bands of output rows whose input (all channels) fits in about 128 KB (at least one row; at most
    /// 64 groups with chunks, whose partial sums, 48 KB, stay in L1 and L2): a 1×1 stride-2 projection read its
    /// 3.2 MB input from L3 once per block without bands. Where the weights are, one band: MobileNet's last 1×1
    /// conv read its 4 MB of weights three times. With a residual, one band too: the pass that adds it then reads
    /// sixteen whole planes of the residual, not sixteen short runs per band (without a residual, one band was
    /// 6–13 % slower).
    func pixelGroupPlan(_ c: Convolution, input: Shape, output: Shape, layout: NCHWcSides, epilogue: Epilogue) -> PixelGroupPlan {
        let tile = tiling.groupTile(c, output: output, nchwc: layout)
        let source = pixelGroupSource(c, input: input, output: output)
        let chunk = tiling.groupChunk(c, output: output, channels: tile.channels, nchwc: layout)
        let plane = output.height * output.width
        let groups = (plane + tile.pixels - 1) / tile.pixels
        // A subsampled copy is read at stride 1.
        let strideRows = source.subsampled ? 1 : c.stride.h
        let taps = c.kernel.h * c.kernel.w
        let inputRowBytes = c.inChannels * source.columns * 4
        let bandRows = max(1, ((128 * 1024 / inputRowBytes) - (c.kernel.h - 1) * c.dilation.h) / strideRows)
        let weightsDominate = c.filters * c.inChannels * taps >= c.inChannels * source.rows * source.columns
        // The residual pass adds the residual, then a relu if there is one; other activations stay in the write-out.
        let residualPass = epilogue.residual && (epilogue.activation == nil || epilogue.activation == .relu)
        return PixelGroupPlan(
            tile: tile, chunk: chunk, source: source,
            bandGroups: weightsDominate || residualPass
                ? groups : min(groups, chunk != nil ? 64 : groups, max(1, bandRows * output.width / tile.pixels)),
            residualPass: residualPass)
    }

    /// The weights a conv's kernel reads: blocks of filters, Winograd's transformed filters, channel vectors, or
    /// PyTorch's layout (a depthwise conv's taps interleaved for NCHWc).
    /// A one-group 1×1 conv, unpadded, of a 1×1 map, with no residual to add.
    func isMatrixVector(_ c: Convolution, input: Shape, epilogue: Epilogue) -> Bool {
        c.groups == 1 && c.kernel == Pair(1, 1) && c.padding == .zero && input.height == 1 && input.width == 1
            && !epilogue.residual
    }

    func convolutionWeights(_ c: Convolution, _ algorithm: ConvolutionAlgorithm, stored: Int) -> WeightLayout {
        let arrangement: WeightArrangement
        switch algorithm {
        case .depthwise: return WeightLayout(biasOffset: stored, count: stored + c.filters, arrangement: .pytorch)
        case .nchwcDepthwise: return WeightLayout(biasOffset: stored, count: stored + c.filters, arrangement: .interleavedTaps)
        case .winograd: arrangement = .winograd
        case .channelVectors: arrangement = .channelVectors
        case .pixelGroups(let plan): arrangement = .filterBlocks(block: plan.tile.channels)
        case .pointwise, .flat, .blocked: arrangement = .filterBlocks(block: tiling.filterBlock)
        }
        let weights = tiling.weightFloats(c, kind: algorithm.kind)
        return WeightLayout(biasOffset: weights, count: weights + tiling.paddedFilters(c), arrangement: arrangement)
    }
}

extension Convolution {
    /// The conv without its bias flag and activation, which a kernel plan holds in its weight layout and epilogue.
    var geometry: Convolution {
        var geometry = self
        geometry.bias = false
        geometry.activation = nil
        return geometry
    }
}

extension Pooling {
    /// The pool without what its output shape and index use already say (ceil mode, kept indices), and without
    /// the divisor rule where there is no sum to divide.
    var geometry: Pooling {
        var geometry = self
        geometry.ceilMode = false
        geometry.returnsIndices = false
        if kind == .max { geometry.countIncludePad = true }
        return geometry
    }
}
