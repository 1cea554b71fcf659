// One planned step → one specialised function. Legend: oc ic oh ow kh kw; shapes (C, H, W); `&+ &*` on indices
// whose bounds are literals and proven.

import ConvcIR

extension Emitter {
    /// The activation a step applies: its layer's own, or the one fused after it.
    func activation(of step: PlannedStep) -> Activation? {
        if let fused = step.fusedActivation, case .activation(let a) = layer(fused).op { return a }
        switch layer(step.layer).op {
        case .conv(let c), .convTranspose(let c): return c.activation
        case .dense(_, _, _, let a): return a
        case .activation(let a): return a
        case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm, .prelu, .softmax,
            .dropout, .flatten, .add, .concat, .channelPad, .identity:
            return nil
        }
    }

    /// The activation applied in an output loop: a Swift expression of `v`.
    func activationExpression(_ step: PlannedStep) -> String? {
        switch activation(of: step) {
        case nil: return nil
        case .relu: return "max(v, 0)"
        case .relu6: return "min(max(v, 0), 6)"
        case .leakyReLU(let slope): return "v >= 0 ? v : v * \(literal(slope))"
        case .sigmoid: return "1 / (1 + exp(-v))"
        case .tanh: return "tanh(v)"
        }
    }

    func describe(_ step: PlannedStep) -> String {
        let main = layer(step.layer)
        var text = "\(main.name): \(main.op.kindName)"
        switch main.op {
        case .conv(let c), .convTranspose(let c):
            text += " \(c.inChannels)→\(c.filters), kernel \(c.kernel), stride \(c.stride), padding \(c.padding)"
            if c.dilation != Pair(1, 1) { text += ", dilation \(c.dilation)" }
            if c.groups > 1 { text += ", groups \(c.groups)" }
        case .dense(let inFeatures, let units, _, _): text += " \(inFeatures)→\(units)"
        case .pool(let p): text += " \(p.kernel), stride \(p.stride), padding \(p.padding)" + (p.ceilMode ? ", ceil mode" : "")
        case .input, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm, .activation, .prelu,
            .softmax, .dropout, .flatten, .add, .concat, .channelPad, .identity:
            break
        }
        if let bn = step.foldedBatchNorm { text += ", + \(layer(bn).name) folded" }
        if let add = step.fusedAdd { text += ", + \(layer(add).name) (the residual) fused" }
        if let act = step.fusedActivation { text += ", + \(layer(act).name) fused" }
        return text + "."
    }

    /// The step's function: its documentation (with the other layers that call the same function), then
    /// `lowerFunction`.
    func lowerStep(_ step: PlannedStep, into w: inout SwiftWriter) {
        let main = layer(step.layer)
        w.doc(describe(step))
        w.doc("Generated from \(options.sourcePath):\(main.location.line):\(main.location.column).")
        if let others = sharers[step.layer], !others.isEmpty {
            w.doc("Also runs \(others.map { layer($0).name }.joined(separator: ", ")) (the same shapes and fusions).")
        }
        lowerFunction(step, name: functionName(step), into: &w)
    }

    /// The step's specialised function, undocumented: layers whose functions read the same share one.
    func lowerFunction(_ step: PlannedStep, name: String, into w: inout SwiftWriter) {
        let main = layer(step.layer)
        let inputShapes = main.inputs.map { layer($0).outputShape }
        let out = main.outputShape
        var parameters = step.inputs.indices.map { "_ x\($0 == 0 ? "" : String($0)): UnsafePointer<Float>" }
        if case .maxUnpool = main.op { parameters.append("_ indices: UnsafePointer<Float>") }
        if slots[step.layer] != nil { parameters.append("_ w: UnsafePointer<Float>") }
        parameters.append("_ y: UnsafeMutablePointer<Float>")
        if plan.indexedPools.contains(step.layer) { parameters.append("_ indices: UnsafeMutablePointer<Float>") }
        if needsScratch(step) { parameters.append("_ scratch: UnsafeMutablePointer<Float>") }
        if takesThreads(step) { parameters.append("_ threads: Int") }
        w.line("@inline(never)")
        w.block("static func \(name)(\(parameters.joined(separator: ", ")))") { w in
            let sides = nchwcSides(step)
            w.comment("x: \(inputShapes.map(\.description).joined(separator: ", "))\(sides.input ? " NCHWc" : "")   y: \(out)\(sides.output ? " NCHWc" : "")")
            if sides.input && isGlobalAverage(main) {
                lowerNCHWcAveragePool(input: inputShapes[0], into: &w)
                return
            }
            switch main.op {
            case .conv(let c): lowerConvolution(c, input: inputShapes[0], output: out, step: step, into: &w)
            case .convTranspose(let c): lowerTransposedConvolution(c, input: inputShapes[0], output: out, step: step, into: &w)
            case .dense(let inFeatures, let units, _, _): lowerDense(inFeatures: inFeatures, units: units, step: step, into: &w)
            case .pool(let p): lowerPooling(p, input: inputShapes[0], output: out, indexed: plan.indexedPools.contains(step.layer), into: &w)
            case .globalPool(let kind): lowerGlobalPool(main, kind: kind, inputs: inputShapes, into: &w)
            case .adaptiveAvgPool(let size): lowerAdaptivePool(main, size: size, inputs: inputShapes, into: &w)
            case .maxUnpool: lowerMaxUnpool(main, inputs: inputShapes, into: &w)
            case .batchNorm: lowerBatchNorm(main, step: step, into: &w)
            case .localResponseNorm(let size, let alpha, let beta, let k):
                lowerLocalResponseNorm(main, size: size, alpha: alpha, beta: beta, k: k, inputs: inputShapes, into: &w)
            case .activation: lowerActivation(main, step: step, into: &w)
            case .prelu: lowerPReLU(main, into: &w)
            case .softmax: lowerSoftmax(main, inputs: inputShapes, into: &w)
            case .add: lowerAdd(main, inputs: inputShapes, step: step, into: &w)
            case .concat: lowerConcat(main, inputs: inputShapes, into: &w)
            case .channelPad: lowerChannelPad(main, inputs: inputShapes, into: &w)
            case .input, .dropout, .flatten, .identity:
                // Never steps (their output is their input's buffer); were one planned, this is what it means.
                w.line("y.update(from: x, count: \(literal(out.elementCount)))")
            }
        }
    }

    /// The step's activation as an expression over a vector `v` of `lanes` floats (vector operations where they
    /// exist).
    func vectorActivation(_ step: PlannedStep, _ v: String, lanes: Int = 16) -> String {
        switch activation(of: step) {
        case .relu: return "Self.relu(\(v))"
        case .relu6: return "Self.relu6(\(v))"
        case .leakyReLU(let slope): return "\(v).replacing(with: \(v) * \(literal(slope)), where: \(v) .< 0)"
        case .sigmoid, .tanh: return "Self.activate(\(v), { v in \(activationExpression(step)!) })"
        case nil: return v
        }
    }

    /// The value stored for accumulator `v` (of `lanes` floats) at output index `index` (`count` lanes valid): plus
    /// the fused add's other operand there (the step's last input), then the activation.
    func finished(_ step: PlannedStep, _ v: String, index: String, count: String, lanes: Int = 16) -> String {
        guard step.fusedAdd != nil else { return vectorActivation(step, v, lanes: lanes) }
        return vectorActivation(step, "Self.plus\(lanes)(\(v), x\(step.inputs.count - 1) + (\(index)), count: \(count))", lanes: lanes)
    }

    /// Writes `y[i] = activation(y[i])` over `count` values starting at `base`, if the step has an activation.
    func applyActivation(_ step: PlannedStep, base: String, count: Int, into w: inout SwiftWriter) {
        guard let expression = activationExpression(step) else { return }
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = \(base)[i]")
            w.line("\(base)[i] = \(expression)")
        }
    }

    // MARK: Convolution

    /// Where block `block` of filters starts: its filters, input channels (its group's), weights and bias.
    /// Bias is (filters) padded with zeros to whole blocks; lanes past `filters` are never stored.
    func filterBlockPreamble(_ c: Convolution, slot: ParameterSlots, into w: inout SwiftWriter) {
        let filterBlock = tiling.filterBlock
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        w.line("let firstFilter: Int = (block / \(blocksPerGroup)) &* \(outPerGroup) &+ (block % \(blocksPerGroup)) &* \(filterBlock)")
        w.line("let filters: Int = min(\(filterBlock), (block / \(blocksPerGroup)) &* \(outPerGroup) &+ \(outPerGroup) &- firstFilter)")
        w.line("let firstChannel: Int = (block / \(blocksPerGroup)) &* \(inPerGroup)")
        w.line("let kernelOffset: Int = block &* \(literal(inPerGroup * c.kernel.h * c.kernel.w * filterBlock))")
        w.line("let kernel = w + kernelOffset")
        w.line("let biasOffset: Int = \(literal(slot.bias - slot.weight)) &+ firstFilter")
        w.line("let bias = w + biasOffset")
    }

    /// Convolution with the output tile in registers: a block of output channels × sixteen pixels of one output
    /// row in SIMD16 accumulators, summed over input channels and kernel taps; the input is first copied into a
    /// zero-padded scratch plane, so no load needs a bounds check (1×1 stride-1 convs read the input directly).
    func lowerConvolution(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let filterBlock = tiling.filterBlock
        let kind = convolutionKind(step)!
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let plane = output.height * output.width
        if kind == .depthwise {
            if nchwc.contains(step.layer) {
                lowerNCHWcDepthwise(c, input: input, output: output, step: step, into: &w)
            } else {
                lowerDepthwise(c, input: input, output: output, step: step, into: &w)
            }
            return
        }
        if kind == .flat {
            lowerFlatConvolution(c, input: input, output: output, step: step, into: &w)
            return
        }
        if kind == .channelVectors {
            if c.kernel == Pair(1, 1) && c.stride == Pair(1, 1) && c.padding == .zero {
                // A 1×1 conv maps pixel to pixel, so its planes can be one long row: segments then cross row ends
                // (a 7×7 map runs as five segments of ten rather than seven of seven).
                lowerChannelVectors(c, input: .chw(input.channels, 1, input.height * input.width),
                                    output: .chw(output.channels, 1, output.height * output.width), step: step, into: &w)
            } else {
                lowerChannelVectors(c, input: input, output: output, step: step, into: &w)
            }
            return
        }
        if kind == .pixelGroups {
            lowerPixelGroups(c, input: input, output: output, step: step, into: &w)
            return
        }
        if kind == .winograd {
            lowerWinograd(c, input: input, output: output, step: step, into: &w)
            return
        }
        if kind == .pointwise && plane >= tiling.pixelTile {
            lowerPointwise(c, output: output, step: step, into: &w)
            return
        }
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        w.comment("weight: (\(c.groups * blocksPerGroup) blocks, \(c.kernel.h), \(c.kernel.w), \(inPerGroup), \(filterBlock))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        var source = "x"
        var rowStride = input.width, planeStride = input.height * input.width
        if kind == .blocked {
            let padded = paddedInput(c, input: input, output: output)
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(padded.rows), columns: \(padded.columns), into: scratch, threads: threads)")
            source = "scratch"
            rowStride = padded.columns
            planeStride = padded.rows * padded.columns
        }
        // Blocks write disjoint output channels and only read the padded copy, so threads split them.
        w.block("Self.parallel(\(c.groups * blocksPerGroup), threads: threads)", opening: " { blocks in") { w in
            w.block("for block in blocks") { w in
                filterBlockPreamble(c, slot: slot, into: &w)
                let rows = kind == .pointwise ? 1 : output.height
                let width = kind == .pointwise ? plane : output.width
                // A 1×1 conv of at least sixteen pixels shifts its last chunk back to end at the last pixel: a few
                // pixels are computed twice, and every load and store is a whole vector.
                let shiftLastChunk = kind == .pointwise && plane >= 16 && plane % 16 != 0
                w.block("for oh in 0..<\(rows)") { w in
                    w.block(shiftLastChunk ? "for chunk in stride(from: 0, to: \(literal(width)), by: 16)" : "for ow in stride(from: 0, to: \(literal(width)), by: 16)") { w in
                        if shiftLastChunk { w.line("let ow: Int = min(chunk, \(literal(plane - 16)))") }
                        for r in 0..<filterBlock { w.line("var a\(r) = SIMD16<Float>(repeating: bias[\(r)])") }
                        if kind == .pointwise {
                            w.block("for ic in 0..<\(inPerGroup)") { w in
                                w.line("let planeOffset: Int = (firstChannel &+ ic) &* \(literal(planeStride)) &+ ow")
                                if plane >= 16 {
                                    w.line("let v = Self.load16(\(source) + planeOffset)")
                                } else {
                                    w.line("let v = Self.load16(\(source) + planeOffset, stride: 1, available: \(literal(plane)) &- ow)")
                                }
                                w.line("let k = kernel + ic &* \(filterBlock)")
                                for r in 0..<filterBlock { w.line("Self.multiplyAdd(&a\(r), k[\(r)], v)") }
                            }
                        } else {
                            // Tap-major, channels innermost: consecutive loads come from different planes, so the
                            // vectoriser keeps them as plain sixteen-lane loads.
                            w.block("for i in 0..<\(c.kernel.h)") { w in
                                w.line("let rowOffset: Int = (firstChannel &* \(literal(planeStride / rowStride)) &+ oh &* \(c.stride.h) &+ i &* \(c.dilation.h)) &* \(rowStride) &+ ow &* \(c.stride.w)")
                                w.block("for j in 0..<\(c.kernel.w)") { w in
                                    w.line("let tapOffset: Int = (i &* \(c.kernel.w) &+ j) &* \(inPerGroup * filterBlock)")
                                    w.line("let columnOffset: Int = rowOffset &+ j &* \(c.dilation.w)")
                                    w.block("for ic in 0..<\(inPerGroup)") { w in
                                        if c.stride.w == 1 {
                                            // In bounds: the padded copy is wide enough for a whole last chunk.
                                            w.line("let v = Self.load16(\(source) + (columnOffset &+ ic &* \(literal(planeStride))))")
                                        } else if c.stride.w == 2 {
                                            w.line("let v = Self.loadEven16(\(source) + (columnOffset &+ ic &* \(literal(planeStride))))")
                                        } else {
                                            w.line("let v = Self.load16(\(source) + (columnOffset &+ ic &* \(literal(planeStride))), stride: \(c.stride.w), available: 16)")
                                        }
                                        w.line("let k = kernel + (tapOffset &+ ic &* \(filterBlock))")
                                        for r in 0..<filterBlock { w.line("Self.multiplyAdd(&a\(r), k[\(r)], v)") }
                                    }
                                }
                            }
                        }
                        w.line("let count: Int = min(16, \(literal(width)) &- ow)")
                        w.line("let outputOffset: Int = firstFilter &* \(literal(plane)) &+ oh &* \(literal(width)) &+ ow")
                        for r in 0..<filterBlock {
                            let index = "outputOffset &+ \(literal(r * plane))"
                            w.line("if \(r) < filters { Self.store16(\(finished(step, "a\(r)", index: index, count: "count")), to: y + (\(index)), count: count) }")
                        }
                    }
                }
            }
        }
    }

    /// Vectors of sixteen output channels: two of them × a row segment of up to fourteen pixels in registers,
    /// summed over input channels and taps, each input value broadcast to all lanes. The tile then goes to memory
    /// and out channel by channel (the output is channels-first).
    func lowerChannelVectors(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let taps = c.kernel.h * c.kernel.w
        let blocks = c.filters / channelBlock
        let vectors = channelBlock / 16
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
        let padded = c.padding != .zero
        let rows = padded ? input.height + c.padding.top + c.padding.bottom : input.height
        let columns = padded ? input.width + c.padding.left + c.padding.right : input.width
        let plane = output.height * output.width
        w.comment("weight: (\(blocks) blocks, \(c.inChannels), \(c.kernel.h), \(c.kernel.w), \(channelBlock))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        w.comment("tile: \(channelBlock) channels × \(pixels) pixels of an output row, sixteen channels to a vector")
        if padded {
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(rows), columns: \(columns), into: scratch, threads: threads)")
        }
        let source = padded ? "scratch" : "x"
        // Blocks write disjoint output channels and only read the input, so threads split them.
        // Bands of output rows whose input rows (about 256 KB) stay in L2 while every block reads them.
        let bandRows = min(output.height, max(1, (65_536 / (c.inChannels * columns) - (c.kernel.h - 1) * c.dilation.h) / c.stride.h))
        w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
            w.block("withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: \(vectors * pixels))", opening: " { tile in") { w in
                w.line("let lanes = UnsafeMutableRawPointer(tile.baseAddress!).assumingMemoryBound(to: Float.self)")
                w.block("for band in stride(from: 0, to: \(output.height), by: \(bandRows))") { w in
                    w.block("for block in blocks") { w in
                        w.line("let kernelOffset: Int = block &* \(literal(c.inChannels * taps * channelBlock))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(literal(slot.bias - slot.weight)) &+ block &* \(channelBlock)")
                        for v in 0..<vectors {
                            w.line("let bias\(v) = Self.load16(w + (biasOffset &+ \(16 * v)))")
                        }
                        w.block("for oh in band..<min(band &+ \(bandRows), \(output.height))") { w in
                            w.block("for segment in stride(from: 0, to: \(output.width), by: \(pixels))") { w in
                                // The last segment shifts back to end at the row's end; a few pixels are computed twice.
                                w.line("let ow: Int = min(segment, \(output.width - pixels))")
                                for v in 0..<vectors {
                                    for p in 0..<pixels { w.line("var a\(v)_\(p) = bias\(v)") }
                                }
                                w.block("for ic in 0..<\(c.inChannels)") { w in
                                    w.line("let planeOffset: Int = ic &* \(literal(rows * columns)) &+ oh &* \(literal(c.stride.h * columns)) &+ ow &* \(c.stride.w)")
                                    w.line("let k = kernel + ic &* \(literal(taps * channelBlock))")
                                    // One tap: its weight vectors, times each pixel's input value.
                                    func tap(_ offset: String, weights: String, into w: inout SwiftWriter) {
                                        w.line("let tap = \(source) + (planeOffset &+ \(offset))")
                                        for v in 0..<vectors {
                                            w.line("let w\(v) = Self.load16(k + (\(weights) &+ \(16 * v)))")
                                        }
                                        for p in 0..<pixels {
                                            for v in 0..<vectors { w.line("Self.multiplyAdd(&a\(v)_\(p), tap[\(p * c.stride.w)], w\(v))") }
                                        }
                                    }
                                    if taps <= 9 {
                                        // Kernels up to 3×3 unrolled: every offset a literal.
                                        for i in 0..<c.kernel.h {
                                            for j in 0..<c.kernel.w {
                                                w.block("do") { w in
                                                    tap(literal(i * c.dilation.h * columns + j * c.dilation.w), weights: literal((i * c.kernel.w + j) * channelBlock), into: &w)
                                                }
                                            }
                                        }
                                    } else {
                                        w.block("for i in 0..<\(c.kernel.h)") { w in
                                            w.block("for j in 0..<\(c.kernel.w)") { w in
                                                tap("i &* \(literal(c.dilation.h * columns)) &+ j &* \(c.dilation.w)", weights: "(i &* \(c.kernel.w) &+ j) &* \(channelBlock)", into: &w)
                                            }
                                        }
                                    }
                                }
                                for v in 0..<vectors {
                                    for p in 0..<pixels { w.line("tile[\(v * pixels + p)] = a\(v)_\(p)") }
                                }
                                // The activation runs on the tile in memory, once the accumulators are dead (it may be a call,
                                // and vector registers do not survive one); with a residual to add first, in the pass below.
                                if step.fusedAdd == nil, activationExpression(step) != nil {
                                    w.block("for t in 0..<\(vectors * pixels)") { w in
                                        w.line("let v = tile[t]")
                                        w.line("tile[t] = \(vectorActivation(step, "v"))")
                                    }
                                }
                                w.block("for oc in 0..<\(channelBlock)") { w in
                                    w.line("let outputOffset: Int = (block &* \(channelBlock) &+ oc) &* \(literal(plane)) &+ oh &* \(output.width) &+ ow")
                                    w.line("let lane: Int = (oc >> 4) &* \(pixels * 16) &+ (oc & 15)")
                                    w.block("for p in 0..<\(pixels)") { w in
                                        if step.fusedAdd != nil {
                                            w.line("let v = lanes[lane &+ p &* 16] + x\(step.inputs.count - 1)[outputOffset &+ p]")
                                            w.line("y[outputOffset &+ p] = \(activationExpression(step) ?? "v")")
                                        } else {
                                            w.line("y[outputOffset &+ p] = lanes[lane &+ p &* 16]")
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Vectors of output channels × a group of output pixels (consecutive in the map, across row ends), summed
    /// over taps and input channels with each input value broadcast. Every pixel's input is found through its own
    /// offset, so strides, row ends and narrow maps cost nothing. The map goes in bands of groups whose input
    /// stays in L2 while every block of channels reads it. Deep layers sum their input channels in chunks whose
    /// weights (and, on small maps, inputs) stay in L1, keeping the band's partial sums between chunks.
    func lowerPixelGroups(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let sides = nchwcSides(step)
        let tile = tiling.groupTile(c, output: output, nchwc: sides)
        let (lanes, vector, vectors, pixels, channels) = (tiling.lanes, tiling.vector, tile.vectors, tile.pixels, tile.channels)
        let taps = c.kernel.h * c.kernel.w
        let blocks = c.filters / channels
        let plane = output.height * output.width
        let groups = (plane + pixels - 1) / pixels
        let (rows, columns, copied, subsampled) = pixelGroupSource(c, input: input, output: output)
        let source = copied ? "scratch" : "x"
        // A subsampled copy holds just the pixels a strided 1×1 conv reads (ResNet-50's projections read every
        // other pixel of every other row, half of each cache line they fetch): the conv reads it at stride 1.
        let stride = subsampled ? Pair(1, 1) : c.stride
        let chunk = tiling.groupChunk(c, output: output, channels: channels, nchwc: sides)
        let chunked = chunk != nil
        let chunkChannels = chunk ?? c.inChannels
        // Every band reads all the weights, and every block of filters reads the band's input. Where the input is
        // the larger, bands of output rows whose input (all channels) fits in about 128 KB (at least one row; at
        // most 64 groups with chunks, whose partial sums, 48 KB, stay in L1 and L2): a 1×1 stride-2 projection read
        // its 3.2 MB input from L3 once per block without bands (ResNet-50's 256→512 at 28×28: 45 GFLOP/s). Where
        // the weights are, one band: MobileNet's last 1×1 conv read its 4 MB of weights three times. With a
        // residual, one band too: the pass that adds it then reads sixteen whole planes of the residual, not
        // sixteen short runs per band (ResNet-50's 128→512 1×1 at 28×28 took 0.89 of the time with cold caches,
        // its 256→512 stride-2 projection 0.92; without a residual, one band was 6–13 % slower).
        let relu = activation(of: step) == .relu
        let residual = step.fusedAdd != nil && (relu || activation(of: step) == nil)
        let inputRowBytes = c.inChannels * columns * 4
        let bandRows = max(1, ((128 * 1024 / inputRowBytes) - (c.kernel.h - 1) * c.dilation.h) / stride.h)
        let weightsDominate = c.filters * c.inChannels * taps >= c.inChannels * rows * columns
        let bandGroups = weightsDominate || residual ? groups : min(groups, chunked ? 64 : groups, max(1, bandRows * output.width / pixels))
        let tileVectors = vectors * pixels
        w.comment("weight: (\(blocks) blocks, \(c.kernel.h), \(c.kernel.w), \(c.inChannels), \(channels))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        w.comment("tile: \(channels) channels (\(vectors) vectors) × \(pixels) output pixels, each input value broadcast" + (chunk.map { "; input channels in chunks of \($0)" } ?? ""))
        if subsampled {
            w.line("Self.subsample(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), stride: (\(c.stride.h), \(c.stride.w)), rows: \(rows), outputHeight: \(output.height), outputWidth: \(output.width), into: scratch, threads: threads)")
        } else if copied {
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(rows), columns: \(columns), into: scratch, threads: threads)")
        }
        // Blocks write disjoint output channels and only read the input, so threads split them. Tile slots are
        // every other vector (see lowerPointwise); with chunks, each group of pixels keeps its partial sums.
        w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
            w.block("withUnsafeTemporaryAllocation(of: \(vector).self, capacity: \(literal(2 * tileVectors * (chunked ? bandGroups : 1))))", opening: " { tiles in") { w in
                if !sides.output { w.line("let lanes = UnsafeMutableRawPointer(tiles.baseAddress!).assumingMemoryBound(to: Float.self)") }
                w.block("for band in stride(from: 0, to: \(groups), by: \(bandGroups))") { w in
                    w.block("for block in blocks") { w in
                        w.line("let kernelOffset: Int = block &* \(literal(c.inChannels * taps * channels))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(literal(slot.bias - slot.weight)) &+ block &* \(channels)")
                        for v in 0..<vectors {
                            w.line("let bias\(v) = Self.load\(lanes)(w + (biasOffset &+ \(lanes * v)))")
                        }
                        func groupLoop(_ body: (inout SwiftWriter) -> Void, into w: inout SwiftWriter) {
                            w.block("for group in band..<min(band &+ \(bandGroups), \(groups))") { w in
                                // The last group shifts back to end at the map's end; a few pixels are computed twice.
                                w.line("let first: Int = min(group &* \(pixels), \(plane - pixels))")
                                body(&w)
                            }
                        }
                        // An NCHWc output goes straight from the accumulators (or the chunks' tile), a vector per pixel.
                        func storeNCHWc(_ value: (Int, Int) -> String, into w: inout SwiftWriter) {
                            for v in 0..<vectors {
                                for p in 0..<pixels {
                                    let index = offset([("block", vectors * plane * lanes), ("first", lanes)], plus: (v * plane + p) * lanes)
                                    w.line("Self.store(\(vectorActivation(step, value(v, p), lanes: lanes)), to: y + (\(index)))")
                                }
                            }
                        }
                        func accumulate(_ w: inout SwiftWriter) {
                            if chunked || !sides.output {
                                w.line("let tile = tiles.baseAddress! + \(chunked ? "(group &- band) &* \(2 * tileVectors)" : "0")")
                            }
                            for p in 0..<pixels {
                                // The input offset of pixel p of the group: its window's top-left corner (NCHWc: its vector).
                                let q = offset([("first", 1)], plus: p)
                                if sides.input {
                                    w.line("let o\(p): Int = (\(q)) &* \(nchwcLanes)")
                                } else if stride.w == 1 && stride.h * columns == output.width {
                                    w.line("let o\(p): Int = \(q)")
                                } else {
                                    w.line("let q\(p): Int = \(q)")
                                    w.line("let o\(p): Int = \(pixelOffset("q\(p)", width: output.width, rowStride: stride.h * columns, columnStride: stride.w))")
                                }
                            }
                            for v in 0..<vectors {
                                for p in 0..<pixels {
                                    let start = chunked ? "firstChannel == 0 ? bias\(v) : tile[\(2 * (v * pixels + p))]" : "bias\(v)"
                                    w.line("var a\(v)_\(p) = \(start)")
                                }
                            }
                            // Tap-major, channels innermost: one tap's loads in an iteration, so the optimiser cannot share
                            // input values across taps (keeping them live spilled the accumulators).
                            // The tap loops and the chunk's offset exist only where they take more than one value.
                            let (rowTap, columnTap) = (c.kernel.h > 1 ? 1 : 0, c.kernel.w > 1 ? 1 : 0)
                            let firstChannel = chunked ? 1 : 0
                            w.loop("i", count: c.kernel.h) { w in w.loop("j", count: c.kernel.w) { w in
                                w.line("let tapBase = \(source)\(plus(offset([("i", rowTap * c.dilation.h * columns), ("j", columnTap * c.dilation.w), ("firstChannel", firstChannel * rows * columns)])))")
                                w.line("let tapKernel = kernel\(plus(offset([("i", rowTap * c.kernel.w * c.inChannels * channels), ("j", columnTap * c.inChannels * channels), ("firstChannel", firstChannel * channels)])))")
                                broadcastProducts(tile, channels: chunkChannels, source: "tapBase", channelStride: rows * columns, nchwc: sides.input, kernel: "tapKernel", into: &w)
                            } }
                            if sides.output && !chunked {
                                storeNCHWc({ v, p in "a\(v)_\(p)" }, into: &w)
                                return
                            }
                            for v in 0..<vectors {
                                for p in 0..<pixels { w.line("tile[\(2 * (v * pixels + p))] = a\(v)_\(p)") }
                            }
                        }
                        // The tile in memory goes out channel by channel (the output is channels-first), with the residual
                        // and the activation.
                        // With a residual, the sums go out as they are and a pass over the band's stretch of the block's planes
                        // adds the residual and applies the activation, a vector at a time: read lane by lane, the residual
                        // came from sixteen planes at once (ResNet-50's 1×1 convs with a residual were 30 % slower than without).
                        func writeOut(_ w: inout SwiftWriter) {
                            if sides.output {
                                if chunked {
                                    w.line("let tile = tiles.baseAddress! + (group &- band) &* \(2 * tileVectors)")
                                    storeNCHWc({ v, p in "tile[\(2 * (v * pixels + p))]" }, into: &w)
                                }
                                return
                            }
                            w.line("let tileLanes = lanes + \(chunked ? "(group &- band) &* \(2 * tileVectors * lanes)" : "0")")
                            w.block("for oc in 0..<\(channels)") { w in
                                w.line("let outputOffset: Int = (block &* \(channels) &+ oc) &* \(literal(plane)) &+ first")
                                w.line("let lane: Int = (oc / \(lanes)) &* \(2 * pixels * lanes) &+ oc % \(lanes)")
                                w.block("for p in 0..<\(pixels)") { w in
                                    if residual {
                                        w.line("y[outputOffset &+ p] = tileLanes[lane &+ p &* \(2 * lanes)]")
                                    } else {
                                        w.line("let v = tileLanes[lane &+ p &* \(2 * lanes)]\(step.fusedAdd != nil ? " + x\(step.inputs.count - 1)[outputOffset &+ p]" : "")")
                                        w.line("y[outputOffset &+ p] = \(activationExpression(step) ?? "v")")
                                    }
                                }
                            }
                        }
                        func addResidual(_ w: inout SwiftWriter) {
                            w.line("let firstPixel: Int = min(band &* \(pixels), \(plane - pixels))")
                            w.line("let endPixel: Int = min((band &+ \(bandGroups)) &* \(pixels), \(plane))")
                            w.block("for oc in 0..<\(channels)") { w in
                                w.line("let planeOffset: Int = (block &* \(channels) &+ oc) &* \(literal(plane))")
                                w.line("Self.addResidual(y + planeOffset, x\(step.inputs.count - 1) + planeOffset, from: firstPixel, to: endPixel, relu: \(relu))")
                            }
                        }
                        if chunked {
                            w.block("for firstChannel in stride(from: 0, to: \(c.inChannels), by: \(chunkChannels))") { w in
                                groupLoop(accumulate, into: &w)
                            }
                            groupLoop(writeOut, into: &w)
                        } else {
                            groupLoop({ w in
                                accumulate(&w)
                                writeOut(&w)
                            }, into: &w)
                        }
                        if residual { addResidual(&w) }
                    }
                }
            }
        }
    }

    /// The pixel-group inner loop over input channels: the block's weight vectors for a channel, times each pixel's
    /// input value (at `o0`, `o1`, … from the channel's plane) broadcast, into accumulators `a{vector}_{pixel}`.
    /// Tiles of more vectors than pixels take the pixels' values first and each weight vector right before its
    /// multiply-adds: with all four weight vectors loaded first, 32 × 3 tiles spilled.
    /// An NCHWc source holds channel `ic` of pixel `o` at `(ic / 8) · channelStride · 8 + o · 8 + ic % 8`, the
    /// offsets `o0`, `o1`, … already times eight: its loop goes over blocks of eight channels, each channel's
    /// products written out with constant offsets (MobileNet's 1×1 convs took 0.86–0.99 of the time of a loop
    /// over channels computing each one's place).
    func broadcastProducts(_ tile: GroupTile, channels: Int, source: String, channelStride: Int, nchwc: Bool = false, kernel: String, into w: inout SwiftWriter) {
        let (lanes, vectors, pixels) = (tile.lanes, tile.vectors, tile.pixels)
        // One channel: weights from `k + kernelOffset`, the pixels' values from `tap[o{p} + offset]`.
        func products(offset: Int, kernelOffset: Int, suffix: String, into w: inout SwiftWriter) {
            func value(_ p: Int) -> String { "tap[o\(p)\(offset == 0 ? "" : " &+ \(offset)")]" }
            func weight(_ v: Int) -> String { "Self.load\(lanes)(k + \(kernelOffset + lanes * v))" }
            if vectors > pixels {
                for p in 0..<pixels { w.line("let b\(p)\(suffix) = \(value(p))") }
                for v in 0..<vectors {
                    w.line("let w\(v)\(suffix) = \(weight(v))")
                    for p in 0..<pixels { w.line("Self.multiplyAdd(&a\(v)_\(p), b\(p)\(suffix), w\(v)\(suffix))") }
                }
                return
            }
            for v in 0..<vectors {
                w.line("let w\(v)\(suffix) = \(weight(v))")
            }
            for p in 0..<pixels {
                for v in 0..<vectors { w.line("Self.multiplyAdd(&a\(v)_\(p), \(value(p)), w\(v)\(suffix))") }
            }
        }
        if nchwc {
            w.block("for inputBlock in 0..<\(channels / nchwcLanes)") { w in
                w.line("let tap = \(source) + inputBlock &* \(literal(channelStride * nchwcLanes))")
                w.line("let k = \(kernel) + inputBlock &* \(nchwcLanes * tile.channels)")
                for j in 0..<nchwcLanes {
                    products(offset: j, kernelOffset: j * tile.channels, suffix: "_\(j)", into: &w)
                }
            }
            return
        }
        w.block("for ic in 0..<\(channels)") { w in
            w.line("let tap = \(source) + ic &* \(literal(channelStride))")
            w.line("let k = \(kernel) + ic &* \(tile.channels)")
            products(offset: 0, kernelOffset: 0, suffix: "", into: &w)
        }
    }

    /// Winograd's F(2×2, 3×3) in bands of tile rows: the band's 4×4 input tiles go to the transformed domain
    /// (Bᵀ d B, eight tiles at a time), sixteen products over channels run as pixel groups whose "pixels" are tiles
    /// (16 filters × 6 tiles in registers, each transformed input broadcast), and each 2×2 output tile comes back
    /// as Aᵀ m A, eight filters at a time, with the bias, the residual and the activation.
    func lowerWinograd(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let tile = tiling.groupTile
        let plan = WinogradPlan(c, input: input, output: output, minimumBandTiles: tile.pixels)
        let (vectors, pixels, channels) = (tile.vectors, tile.pixels, tile.channels)
        let (inChannels, filters) = (c.inChannels, c.filters)
        let blocks = filters / channels
        let (columns, tileColumns, vectorColumns) = (plan.columns, plan.tileColumns, plan.vectorColumns)
        let planeFloats = plan.rows * columns
        // Floats of one transformed value of one input channel: the band's tiles, rows `vectorColumns` apart.
        let valueStride = plan.valueStride
        let biasOffset = slot.bias - slot.weight
        w.comment("weight: (16 values, \(blocks) blocks, \(inChannels), \(channels)): G g Gᵀ of each filter and input channel   bias: w[\(literal(biasOffset))..<\(literal(slot.count))]")
        w.comment("Winograd F(2×2, 3×3): \(plan.tileRows)×\(tileColumns) tiles in bands of \(plan.bandRows) tile rows; products: \(channels) filters × \(pixels) tiles, each transformed input broadcast")
        w.line("Self.pad(x, channels: \(inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(plan.rows), columns: \(columns), into: scratch, threads: threads)")
        w.line("let transformed = scratch + \(literal(plan.paddedFloats))")
        w.line("let products = transformed + \(literal(plan.transformedFloats))")
        w.block("for firstRow in stride(from: 0, to: \(plan.tileRows), by: \(plan.bandRows))") { w in
            w.line("let bandRows: Int = min(\(plan.bandRows), \(plan.tileRows) &- firstRow)")
            w.line("let tiles: Int = bandRows &* \(tileColumns)")
            // Bᵀ d B on eight tiles of a tile row at once: tile t's window starts at column 2t, so its four
            // columns are the even and odd lanes of sixteen values from 2t and from 2t + 2.
            w.comment("input tiles to the transformed domain, input channels split over threads")
            w.block("Self.parallel(\(inChannels), threads: threads)", opening: " { inputChannels in") { w in
                w.block("for ic in inputChannels") { w in
                    w.block("for r in 0..<bandRows") { w in
                        w.line("let rowOffset: Int = ic &* \(literal(planeFloats)) &+ (firstRow &+ r) &* \(2 * columns)")
                        w.line("let window = scratch + rowOffset")
                        w.line("let targetOffset: Int = ic &* \(literal(valueStride)) &+ r &* \(vectorColumns)")
                        w.line("let target = transformed + targetOffset")
                        w.block("for tx in stride(from: 0, to: \(vectorColumns), by: 8)") { w in
                            w.line("let corner = window + 2 &* tx, column = target + tx")
                            for r in 0..<4 {
                                w.line("let a\(r) = Self.load16(corner\(plus(literal(r * columns))))")
                                w.line("let b\(r) = Self.load16(corner + \(literal(r * columns + 2)))")
                                w.line("let d\(r)_0 = a\(r).evenHalf, d\(r)_1 = a\(r).oddHalf, d\(r)_2 = b\(r).evenHalf, d\(r)_3 = b\(r).oddHalf")
                            }
                            for j in 0..<4 {
                                w.line("let t0_\(j) = d0_\(j) - d2_\(j), t1_\(j) = d1_\(j) + d2_\(j), t2_\(j) = d2_\(j) - d1_\(j), t3_\(j) = d1_\(j) - d3_\(j)")
                            }
                            for i in 0..<4 {
                                let values = ["t\(i)_0 - t\(i)_2", "t\(i)_1 + t\(i)_2", "t\(i)_2 - t\(i)_1", "t\(i)_1 - t\(i)_3"]
                                for j in 0..<4 {
                                    let offset = literal((4 * i + j) * inChannels * valueStride)
                                    w.line("Self.store(\(values[j]), to: column\(plus(offset)))")
                                }
                            }
                        }
                    }
                }
            }
            // Product `value`: m[tile][value][filters] = Σ over input channels of U[value][filters][channel] ·
            // V[value][channel][tile], 16 filters × 6 tiles in registers.
            w.comment("sixteen products over input channels, blocks of \(channels) filters split over threads")
            w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
                w.block("for value in 0..<16") { w in
                    w.line("let sourceOffset: Int = value &* \(literal(inChannels * valueStride))")
                    w.line("let source = transformed + sourceOffset")
                    w.block("for block in blocks") { w in
                        w.line("let kernelOffset: Int = (value &* \(blocks) &+ block) &* \(literal(inChannels * channels))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let productBlock = products\(plus(offset([("value", filters), ("block", channels)])))")
                        w.block("for group in 0..<(tiles &+ \(pixels - 1)) / \(pixels)") { w in
                            // The last group shifts back to end at the band's last tile.
                            w.line("let first: Int = min(group &* \(pixels), tiles &- \(pixels))")
                            for p in 0..<pixels {
                                w.line("let q\(p): Int = \(offset([("first", 1)], plus: p))")
                                w.line("let o\(p): Int = \(pixelOffset("q\(p)", width: tileColumns, rowStride: vectorColumns, columnStride: 1))")
                            }
                            for v in 0..<vectors {
                                for p in 0..<pixels { w.line("var a\(v)_\(p) = SIMD8<Float>()") }
                            }
                            broadcastProducts(tile, channels: inChannels, source: "source", channelStride: valueStride, kernel: "kernel", into: &w)
                            for p in 0..<pixels {
                                w.line("let product\(p) = productBlock + q\(p) &* \(literal(16 * filters))")
                                for v in 0..<vectors {
                                    w.line("Self.store(a\(v)_\(p), to: product\(p)\(plus(literal(8 * v))))")
                                }
                            }
                        }
                    }
                }
            }
            // Aᵀ m A with Aᵀ = (1 1 1 0; 0 1 −1 −1), eight filters at a time; the four outputs go through memory
            // to the four places of each filter's plane.
            w.comment("output tiles back from the transformed domain, vectors of eight filters split over threads")
            w.block("Self.parallel(\(filters / 8), threads: threads)", opening: " { filterVectors in") { w in
                w.block("withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 4)", opening: " { outputs in") { w in
                    // NCHWc stores whole vectors; only the NCHW write-out reads the outputs lane by lane.
                    if !nchwc.contains(step.layer) {
                        w.line("let lanes = UnsafeMutableRawPointer(outputs.baseAddress!).assumingMemoryBound(to: Float.self)")
                    }
                    w.block("for f in filterVectors") { w in
                        w.line("let bias = Self.load8(w + (\(literal(biasOffset)) &+ f &* 8))")
                        w.block("for q in 0..<tiles") { w in
                            w.line("let productOffset: Int = q &* \(literal(16 * filters)) &+ f &* 8")
                            w.line("let m = products + productOffset")
                            for i in 0..<4 {
                                for j in 0..<4 {
                                    w.line("let m\(i)_\(j) = Self.load8(m + \(literal((4 * i + j) * filters)))")
                                }
                            }
                            for j in 0..<4 {
                                w.line("let s0_\(j) = m0_\(j) + m1_\(j) + m2_\(j), s1_\(j) = m1_\(j) - m2_\(j) - m3_\(j)")
                            }
                            for a in 0..<2 {
                                w.line("outputs[\(2 * a)] = s\(a)_0 + s\(a)_1 + s\(a)_2 + bias")
                                w.line("outputs[\(2 * a + 1)] = s\(a)_1 - s\(a)_2 - s\(a)_3 + bias")
                            }
                            w.line("let oh: Int = (firstRow &+ q / \(tileColumns)) &* 2, ow: Int = q % \(tileColumns) &* 2")
                            // Output (oh + a, ow + b) exists unless an odd map's last tile hangs over its edge.
                            func guards(_ a: Int, _ b: Int) -> [String] {
                                var guards: [String] = []
                                if a == 1 && output.height % 2 == 1 { guards.append("oh &+ 1 < \(output.height)") }
                                if b == 1 && output.width % 2 == 1 { guards.append("ow &+ 1 < \(output.width)") }
                                return guards
                            }
                            if nchwc.contains(step.layer) {
                                // NCHWc: each output pixel's eight filters are one vector.
                                w.line("let corner: Int = f &* \(literal(output.height * output.width * 8)) &+ (oh &* \(output.width) &+ ow) &* 8")
                                for a in 0..<2 {
                                    for b in 0..<2 {
                                        let store = "Self.store(\(vectorActivation(step, "outputs[\(2 * a + b)]", lanes: 8)), to: y + (\(offset([("corner", 1)], plus: (a * output.width + b) * 8))))"
                                        let guards = guards(a, b)
                                        w.line(guards.isEmpty ? store : "if \(guards.joined(separator: " && ")) { \(store) }")
                                    }
                                }
                                return
                            }
                            w.block("for lane in 0..<8") { w in
                                w.line("let corner: Int = (f &* 8 &+ lane) &* \(literal(output.height * output.width)) &+ oh &* \(output.width) &+ ow")
                                for a in 0..<2 {
                                    for b in 0..<2 {
                                        let guards = guards(a, b)
                                        let index = offset([("corner", 1)], plus: a * output.width + b)
                                        let body = { (w: inout SwiftWriter) in
                                            w.line("let index: Int = \(index)")
                                            w.line("let v = lanes[\((2 * a + b) * 8) &+ lane]\(step.fusedAdd != nil ? " + x\(step.inputs.count - 1)[index]" : "")")
                                            w.line("y[index] = \(self.activationExpression(step) ?? "v")")
                                        }
                                        if guards.isEmpty {
                                            w.block("do", body)
                                        } else {
                                            w.block("if \(guards.joined(separator: " && "))", body)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A 1×1 stride-1 conv over at least one tile of pixels: the input planes are the matrix. A block of filters ×
    /// vectors of pixels in accumulators; the last tile is shifted back to end at the last pixel, so a few pixels
    /// are computed twice and every load and store is a whole vector.
    func lowerPointwise(_ c: Convolution, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let plane = output.height * output.width
        let (filterBlock, chunks, lanes, vector) = (tiling.filterBlock, tiling.pixelChunks, tiling.lanes, tiling.vector)
        let blocks = (c.filters + filterBlock - 1) / filterBlock
        w.comment("weight: (\(blocks) blocks, \(c.inChannels), \(filterBlock))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        w.comment("tile: \(filterBlock) filters × \(chunks) vectors of \(lanes) pixels")
        // Bands of pixels whose input (about 64 KB) stays in L1 and L2 while every filter block reads it. Within a
        // band each block sweeps the pixels, so its output rows are written as streams the hardware prefetcher
        // follows; pixel tiles outermost would write a line of every filter's row at once. L1-sized bands (16 KB)
        // ran faster alone but slower within a network, where the output and residual rows come from memory in
        // short runs (ResNet-50: 109 ms against 101).
        let tilePixels = tiling.pixelTile
        let band = max(tilePixels, 16_384 / c.inChannels / tilePixels * tilePixels)
        w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
            // Every other slot of the tile: consecutive vector stores would let the optimiser fuse accumulators into
            // wider vectors, which it then splits into halves across the whole loop.
            w.block("withUnsafeTemporaryAllocation(of: \(vector).self, capacity: \(2 * filterBlock * chunks))", opening: " { tile in") { w in
                w.block("for band in stride(from: 0, to: \(literal(plane)), by: \(literal(band)))") { w in
                    w.block("for block in blocks") { w in
                        w.line("let firstFilter: Int = block &* \(filterBlock)")
                        w.line("let filters: Int = min(\(filterBlock), \(c.filters) &- firstFilter)")
                        w.line("let kernelOffset: Int = block &* \(literal(c.inChannels * filterBlock))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(literal(slot.bias - slot.weight)) &+ firstFilter")
                        w.line("let bias = w + biasOffset")
                        w.block("for start in stride(from: band, to: min(band &+ \(literal(band)), \(literal(plane))), by: \(tilePixels))") { w in
                            w.line("let p: Int = min(start, \(literal(plane - tilePixels)))")
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("var a\(r)_\(t) = \(vector)(repeating: bias[\(r)])") }
                            }
                            w.block("for ic in 0..<\(c.inChannels)") { w in
                                w.line("let source = x + (ic &* \(literal(plane)) &+ p)")
                                for t in 0..<chunks {
                                    w.line("let v\(t) = Self.load\(lanes)(source + \(lanes * t))")
                                }
                                w.line("let k = kernel + ic &* \(filterBlock)")
                                for r in 0..<filterBlock {
                                    for t in 0..<chunks { w.line("Self.multiplyAdd(&a\(r)_\(t), k[\(r)], v\(t))") }
                                }
                            }
                            w.line("let outputOffset: Int = firstFilter &* \(literal(plane)) &+ p")
                            // The tile goes to memory before the activation and the residual add: applied to live
                            // accumulators, swiftc splits them into quarter vectors inside the channel loop (measured: a
                            // 32→64 conv at 112×112 ran 1.7 times slower).
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("tile[\(2 * (r * chunks + t))] = a\(r)_\(t)") }
                            }
                            w.block("for r in 0..<filters") { w in
                                w.block("for t in 0..<\(chunks)") { w in
                                    w.line("let index: Int = outputOffset &+ r &* \(literal(plane)) &+ t &* \(lanes)")
                                    w.line("Self.store(\(finished(step, "tile[(r &* \(chunks) &+ t) &* 2]", index: "index", count: "\(lanes)", lanes: lanes)), to: y + index)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A stride-1 conv over the flat positions of its zero-padded input: output pixel (oh, ow) is position
    /// oh · columns + ow, and tap (i, j) reads position + i · columns + j, so each input load is one contiguous
    /// vector whatever the row width. A block of filters × vectors of positions stays in accumulators; positions
    /// past a row's end (ow ≥ output width) are computed and dropped at the store.
    func lowerFlatConvolution(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let (filterBlock, chunks, lanes, vector, flatTile) = (tiling.filterBlock, tiling.pixelChunks, tiling.lanes, tiling.vector, tiling.pixelTile)
        let padded = flatInput(c, input: input)
        let phasePlane = padded.rows * padded.columns
        let planeStride = padded.phases * phasePlane
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        let positions = (output.height - 1) * padded.columns + output.width
        let plane = output.height * output.width
        let tapStride = inPerGroup * filterBlock
        w.comment("weight: (\(c.groups * blocksPerGroup) blocks, \(c.kernel.h), \(c.kernel.w), \(inPerGroup), \(filterBlock))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        w.comment("tile: \(filterBlock) filters × \(chunks) vectors of \(lanes) positions")
        if padded.phases == 1 {
            w.comment("padded plane: \(padded.rows)×\(padded.columns); output pixel (oh, ow) is position oh·\(padded.columns) + ow")
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(padded.rows), columns: \(padded.columns), into: scratch, threads: threads)")
        } else {
            w.comment("four phase planes of \(padded.rows)×\(padded.columns) per channel (even/odd padded rows × columns): tap (i, j) of")
            w.comment("output pixel (oh, ow) reads phase (i % 2, j % 2) at (oh + i / 2, ow + j / 2), a stride-1 read")
            w.line("Self.padPhases(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(padded.rows), columns: \(padded.columns), into: scratch, threads: threads)")
        }
        w.comment("the last tile reads up to \(flatTile) floats past the last plane, into lanes it drops")
        w.line("(scratch + \(literal(c.inChannels * planeStride))).update(repeating: 0, count: \(flatTile))")
        // Blocks write disjoint output channels and only read the padded copy, so threads split them.
        // Bands of positions whose input (about 256 KB) stays in L2 while every block reads it.
        let band = max(flatTile, 65_536 / (inPerGroup * padded.phases) / flatTile * flatTile)
        w.block("Self.parallel(\(c.groups * blocksPerGroup), threads: threads)", opening: " { blocks in") { w in
            // Every other slot of the tile: see lowerPointwise.
            w.block("withUnsafeTemporaryAllocation(of: \(vector).self, capacity: \(2 * filterBlock * chunks))", opening: " { tile in") { w in
                w.block("for band in stride(from: 0, to: \(literal(positions)), by: \(literal(band)))") { w in
                    w.block("for block in blocks") { w in
                        filterBlockPreamble(c, slot: slot, into: &w)
                        w.block("for p in stride(from: band, to: min(band &+ \(literal(band)), \(literal(positions))), by: \(flatTile))") { w in
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("var a\(r)_\(t) = \(vector)(repeating: bias[\(r)])") }
                            }
                            w.block("for i in 0..<\(c.kernel.h)") { w in
                                w.line("let rowOffset: Int = firstChannel &* \(literal(planeStride)) &+ p &+ \(padded.phases == 1 ? "i &* \(literal(c.dilation.h * padded.columns))" : "(i & 1) &* \(literal(2 * phasePlane)) &+ (i >> 1) &* \(padded.columns)")")
                                w.block("for j in 0..<\(c.kernel.w)") { w in
                                    w.line("let tapOffset: Int = (i &* \(c.kernel.w) &+ j) &* \(literal(tapStride))")
                                    w.line("let columnOffset: Int = rowOffset &+ \(padded.phases == 1 ? "j &* \(c.dilation.w)" : "(j & 1) &* \(literal(phasePlane)) &+ (j >> 1)")")
                                    w.block("for ic in 0..<\(inPerGroup)") { w in
                                        w.line("let source = scratch + (columnOffset &+ ic &* \(literal(planeStride)))")
                                        for t in 0..<chunks {
                                            w.line("let v\(t) = Self.load\(lanes)(source + \(lanes * t))")
                                        }
                                        w.line("let k = kernel + (tapOffset &+ ic &* \(filterBlock))")
                                        for r in 0..<filterBlock {
                                            for t in 0..<chunks { w.line("Self.multiplyAdd(&a\(r)_\(t), k[\(r)], v\(t))") }
                                        }
                                    }
                                }
                            }
                            // The tile goes to memory first: the stores below call out of line where a chunk crosses a row's
                            // end, and vector registers do not survive a call, so live accumulators would be spilled.
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("tile[\(2 * (r * chunks + t))] = a\(r)_\(t)") }
                            }
                            w.block("for r in 0..<filters") { w in
                                w.line("let filterOffset: Int = (firstFilter &+ r) &* \(literal(plane))")
                                w.block("for t in 0..<\(chunks)") { w in
                                    w.line("let q: Int = p &+ t &* \(lanes)")
                                    w.line("let row: Int = q / \(padded.columns)")
                                    w.line("let column: Int = q &- row &* \(padded.columns)")
                                    w.line("let v = tile[(r &* \(chunks) &+ t) &* 2]")
                                    // A whole vector of one output row: one vector store; else lane by lane, out of line.
                                    w.block("if column &+ \(lanes) <= \(output.width) && q &+ \(lanes) <= \(literal(positions))") { w in
                                        w.line("let index: Int = filterOffset &+ row &* \(output.width) &+ column")
                                        w.line("Self.store(\(finished(step, "v", index: "index", count: "\(lanes)", lanes: lanes)), to: y + index)")
                                    }
                                    w.block("else") { w in
                                        var partial = "v"
                                        if step.fusedAdd != nil {
                                            partial = "Self.plusFlat(v, x\(step.inputs.count - 1) + filterOffset, row: row, column: column, width: \(output.width), columns: \(padded.columns), end: \(literal(positions)))"
                                        }
                                        w.line("Self.scatterFlat(\(vectorActivation(step, partial, lanes: lanes)), to: y + filterOffset, row: row, column: column, width: \(output.width), columns: \(padded.columns), end: \(literal(positions)))")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One filter per channel: each output row in sixteen-pixel chunks, the kernel taps accumulated in a register.
    func lowerDepthwise(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let padded = paddedInput(c, input: input, output: output)
        let taps = c.kernel.h * c.kernel.w
        w.comment("weight: (\(c.filters), 1, \(c.kernel.h), \(c.kernel.w))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        // Each channel is padded into a plane of the thread's own just before use: it stays in cache, and the
        // input is read once. Borders are zeroed once; copies write the interior. A small map's loads would wait
        // on its copy's stores, still in flight (a 7×7 map ran five times slower), so two planes take turns there:
        // the next channel is copied while this one is computed.
        // Stride 2 splits each padded channel into four phase planes (even/odd rows × columns) as it copies, so
        // tap (i, j) reads phase (i % 2, j % 2) at (oh + i / 2, ow + j / 2): one load per tap, not two and a shuffle.
        let phased = c.stride == Pair(2, 2) && c.dilation == Pair(1, 1)
        let phaseRows = max((padded.rows + 1) / 2, output.height + (c.kernel.h - 1) / 2)
        let phaseColumns = max((padded.columns + 1) / 2, max(output.width, 16) + (c.kernel.w - 1) / 2)
        let phasePlane = phaseRows * phaseColumns
        let planeFloats = phased ? 4 * phasePlane : padded.rows * padded.columns
        let planeCount = input.width < 16 ? 2 : 1
        w.block("Self.parallel(\(c.filters), threads: threads)", opening: " { channels in") { w in
            w.block("withUnsafeTemporaryAllocation(of: Float.self, capacity: \(literal(planeCount * planeFloats)))", opening: " { buffer in") { w in
                w.line("let planes = buffer.baseAddress!")
                w.line("planes.update(repeating: 0, count: \(literal(planeCount * planeFloats)))")
                w.block("func copy(_ c: Int, into plane: UnsafeMutablePointer<Float>)") { w in
                    if phased {
                        // Padded column left + w: even w goes to phase column parity left % 2 at (left + w) / 2, odd w to
                        // the other parity at (left + w) / 2 as well; sixteen values at a time split into their halves.
                        let (top, left) = (c.padding.top, c.padding.left)
                        let evenPhase = left & 1, evenStart = left >> 1, oddStart = (left + 1) >> 1
                        w.block("for h in 0..<\(input.height)") { w in
                            w.line("let r: Int = h &+ \(top)")
                            w.line("let phaseRow = plane + ((r & 1) &* 2 &* \(literal(phasePlane)) &+ (r >> 1) &* \(phaseColumns))")
                            w.line("let evens = phaseRow + \(literal(evenPhase * phasePlane + evenStart))")
                            w.line("let odds = phaseRow + \(literal((1 - evenPhase) * phasePlane + oddStart))")
                            w.line("let source = x + (c &* \(input.height) &+ h) &* \(input.width)")
                            let whole = input.width / 16 * 16
                            if whole > 0 {
                                w.block("for k in stride(from: 0, to: \(whole), by: 16)") { w in
                                    w.line("let v = Self.load16(source + k)")
                                    w.line("Self.store(v.evenHalf, to: evens + k >> 1)")
                                    w.line("Self.store(v.oddHalf, to: odds + k >> 1)")
                                }
                            }
                            if whole < input.width {
                                w.block("for k in \(whole)..<\(input.width)") { w in
                                    w.line("(k & 1 == 0 ? evens : odds)[k >> 1] = source[k]")
                                }
                            }
                        }
                        return
                    }
                    w.block("for h in 0..<\(input.height)") { w in
                        w.line("let row: Int = (h &+ \(c.padding.top)) &* \(padded.columns) &+ \(c.padding.left)")
                        w.line("let source: Int = (c &* \(input.height) &+ h) &* \(input.width)")
                        if input.width >= 16 {
                            w.line("(plane + row).update(from: x + source, count: \(input.width))")
                        } else if c.padding.left + 16 <= padded.columns {
                            // A short row as one vector store, its lanes past the row zero (the padding): cheaper than a
                            // memmove call.
                            w.line("Self.store(Self.load16(x + source, stride: 1, available: \(input.width)), to: plane + row)")
                        } else {
                            w.block("for k in 0..<\(input.width)") { w in
                                w.line("plane[row &+ k] = x[source &+ k]")
                            }
                        }
                    }
                }
                if planeCount == 2 { w.line("copy(channels.lowerBound, into: planes)") }
                w.block("for c in channels") { w in
                    if planeCount == 2 {
                        w.line("let scratch = planes + ((c &- channels.lowerBound) & 1) &* \(literal(planeFloats))")
                        w.block("if c &+ 1 < channels.upperBound") { w in
                            w.line("copy(c &+ 1, into: planes + ((c &+ 1 &- channels.lowerBound) & 1) &* \(literal(planeFloats)))")
                        }
                    } else {
                        w.line("let scratch = planes")
                        w.line("copy(c, into: scratch)")
                    }
                    w.line("let kernelOffset: Int = c &* \(taps)")
                    w.line("let k = w + kernelOffset")
                    w.line("let b = w[\(literal(slot.bias - slot.weight)) &+ c]")
                    // Four output rows at a time: four independent sums, so the taps' multiply-adds overlap (one sum would
                    // wait out each multiply-add's latency). The last group shifts back to end at the last row, so every row
                    // is `top` plus a constant and the taps below can share their loads.
                    let rows = min(output.height, 4)
                    // Rows of sixteen pixels or more shift their last chunk back to end at the row's end: every store is a
                    // whole vector, and the few pixels computed twice get the same value.
                    let shiftLastChunk = output.width >= 16
                    w.block("for firstRow in stride(from: 0, to: \(output.height), by: \(rows))") { w in
                        w.block("for \(shiftLastChunk ? "chunk" : "ow") in stride(from: 0, to: \(output.width), by: 16)") { w in
                            if shiftLastChunk { w.line("let ow: Int = min(chunk, \(output.width - 16))") }
                            w.line("let top: Int = min(firstRow, \(output.height - rows))")
                            for r in 0..<rows {
                                w.line("let oh\(r): Int = top\(r == 0 ? "" : " &+ \(r)")")
                                w.line("var a\(r) = SIMD16<Float>(repeating: b)")
                            }
                            // Taps written out, a column of the kernel at a time: its weights stay in registers, and each
                            // input row they read is loaded once for every output row that needs it (six loads, not twelve,
                            // for four rows of a 3×3 kernel at stride 1).
                            let rowFloats = phased ? phaseColumns : c.stride.h * padded.columns
                            w.line("let base = scratch\(plus(offset([("top", rowFloats), ("ow", phased ? 1 : c.stride.w)])))")
                            for j in 0..<c.kernel.w {
                                for i in 0..<c.kernel.h { w.line("let t\(i)_\(j) = k[\(i * c.kernel.w + j)]") }
                                // The offset from `base` of tap (i, j) of output row r, and the rows that read it.
                                var loads: [(offset: Int, uses: [(row: Int, tap: Int)])] = []
                                for i in 0..<c.kernel.h {
                                    for r in 0..<rows {
                                        let offset = phased
                                            ? ((i & 1) * 2 + (j & 1)) * phasePlane + (r + (i >> 1)) * phaseColumns + (j >> 1)
                                            : (r * c.stride.h + i * c.dilation.h) * padded.columns + j * c.dilation.w
                                        if let k = loads.firstIndex(where: { $0.offset == offset }) {
                                            loads[k].uses.append((r, i))
                                        } else {
                                            loads.append((offset, [(r, i)]))
                                        }
                                    }
                                }
                                for (n, load) in loads.sorted(by: { $0.offset < $1.offset }).enumerated() {
                                    let address = "base\(plus(literal(load.offset)))"
                                    let value = phased || c.stride.w == 1
                                        ? "Self.load16(\(address))"
                                        : c.stride.w == 2
                                            ? "Self.loadEven16(\(address))"
                                            : "Self.load16(\(address), stride: \(c.stride.w), available: 16)"
                                    w.line("let v\(j)_\(n) = \(value)")
                                    for use in load.uses { w.line("Self.multiplyAdd(&a\(use.row), t\(use.tap)_\(j), v\(j)_\(n))") }
                                }
                            }
                            w.line("let count: Int = \(shiftLastChunk ? "16" : "min(16, \(output.width) &- ow)")")
                            for r in 0..<rows {
                                let index = "(c &* \(output.height) &+ oh\(r)) &* \(output.width) &+ ow"
                                w.line("Self.store16(\(finished(step, "a\(r)", index: index, count: "count")), to: y + (\(index)), count: count)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Transposed convolution: each input pixel adds weight × value into its output window.
    func lowerTransposedConvolution(_ c: Convolution, input: Shape, output: Shape, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let plane = output.height * output.width, inPlane = input.height * input.width
        let taps = c.kernel.h * c.kernel.w
        w.comment("weight: (\(c.inChannels), \(outPerGroup), \(c.kernel.h), \(c.kernel.w))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        w.block("for oc in 0..<\(c.filters)") { w in
            w.line("(y + oc &* \(literal(plane))).update(repeating: w[\(literal(slot.bias - slot.weight)) &+ oc], count: \(literal(plane)))")
        }
        w.block("for ic in 0..<\(c.inChannels)") { w in
            w.line("let planeOffset: Int = ic &* \(literal(inPlane))")
            w.line("let plane = x + planeOffset")
            w.line("let group: Int = ic / \(inPerGroup)")
            w.block("for o in 0..<\(outPerGroup)") { w in
                w.line("let outOffset: Int = (group &* \(outPerGroup) &+ o) &* \(literal(plane))")
                w.line("let out = y + outOffset")
                w.line("let kOffset: Int = (ic &* \(outPerGroup) &+ o) &* \(taps)")
                w.line("let k = w + kOffset")
                w.block("for ih in 0..<\(input.height)") { w in
                    w.block("for i in 0..<\(c.kernel.h)") { w in
                        w.line("let oh: Int = ih &* \(c.stride.h) &- \(c.padding.top) &+ i &* \(c.dilation.h)")
                        w.line("guard oh >= 0 && oh < \(output.height) else { continue }")
                        w.block("for iw in 0..<\(input.width)") { w in
                            w.line("let v = plane[ih &* \(input.width) &+ iw]")
                            w.block("for j in 0..<\(c.kernel.w)") { w in
                                w.line("let ow: Int = iw &* \(c.stride.w) &- \(c.padding.left) &+ j &* \(c.dilation.w)")
                                w.line("guard ow >= 0 && ow < \(output.width) else { continue }")
                                w.line("out[oh &* \(output.width) &+ ow] += k[i &* \(c.kernel.w) &+ j] * v")
                            }
                        }
                    }
                }
            }
        }
        applyActivation(step, base: "y", count: output.elementCount, into: &w)
    }

    // MARK: Dense

    func lowerDense(inFeatures: Int, units: Int, step: PlannedStep, into w: inout SwiftWriter) {
        let slot = slots[step.layer]!
        w.comment("weight: (\(units), \(inFeatures))   bias: w[\(literal(slot.bias - slot.weight))..<\(literal(slot.count))]")
        // Four rows at a time: four weight streams in flight keep more of the memory bandwidth busy than one (the
        // weights are read once, so a large dense layer is bound by it), and each input load serves all four.
        let bias = literal(slot.bias - slot.weight)
        w.block("Self.parallel(\(literal(units / 4)), threads: threads)", opening: " { quads in") { w in
            w.block("for quad in quads") { w in
                w.line("let u: Int = quad &* 4")
                w.line("let sums = Self.dot4(w + u &* \(literal(inFeatures)), stride: \(literal(inFeatures)), x, count: \(literal(inFeatures)))")
                w.block("for r in 0..<4") { w in
                    w.line("y[u &+ r] = sums[r] + w[\(bias) &+ u &+ r]")
                }
            }
        }
        if units % 4 != 0 {
            w.block("for u in \(literal(units / 4 * 4))..<\(literal(units))") { w in
                w.line("y[u] = Self.dot(w + u &* \(literal(inFeatures)), x, count: \(literal(inFeatures))) + w[\(bias) &+ u]")
            }
        }
        applyActivation(step, base: "y", count: units, into: &w)
    }

    // MARK: Pooling

    /// Max pooling on sixteen output pixels at a time, with −∞ standing for padding: no bounds checks across a
    /// row, and NaN wins as in PyTorch.
    func lowerVectorMaxPool(_ p: Pooling, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let columns = paddedWindows(kernel: p.kernel, stride: p.stride, dilation: p.dilation, padding: p.padding, input: input, output: output).columns
        let (H, W) = (input.height, input.width)
        let rowsCanLeave = p.padding.top > 0 || (output.height - 1) * p.stride.h + (p.kernel.h - 1) * p.dilation.h >= H
        // Channels split over threads. Each output row first takes the maximum down the window's rows, into a row
        // bordered with −∞ on the thread's stack; the taps across then read that row (no padded copy of the input).
        w.block("Self.parallel(\(input.channels), threads: threads)", opening: " { channels in") { w in
            w.block("withUnsafeTemporaryAllocation(of: Float.self, capacity: \(columns))", opening: " { buffer in") { w in
                w.line("let row = buffer.baseAddress!")
                w.line("row.initialize(repeating: -.infinity, count: \(columns))")
                w.block("for c in channels") { w in
                    w.line("let plane = x + c &* \(literal(H * W))")
                    w.block("for oh in 0..<\(output.height)") { w in
                        w.line("let top: Int = oh &* \(p.stride.h) &- \(p.padding.top)")
                        w.block("for k in stride(from: 0, to: \(W), by: 16)") { w in
                            w.line("let count = min(16, \(W) &- k)")
                            w.line("var m = SIMD16<Float>(repeating: -.infinity)")
                            w.block("for i in 0..<\(p.kernel.h)") { w in
                                w.line("let h: Int = top &+ i &* \(p.dilation.h)")
                                if rowsCanLeave { w.line("guard h >= 0 && h < \(H) else { continue }") }
                                w.line("m = Self.maximum(m, Self.load16(plane + (h &* \(W) &+ k), stride: 1, available: count))")
                            }
                            w.line("Self.store16(m, to: row + (\(p.padding.left) &+ k), count: count)")
                        }
                        w.block("for ow in stride(from: 0, to: \(output.width), by: 16)") { w in
                            w.line("var m = SIMD16<Float>(repeating: -.infinity)")
                            for j in 0..<p.kernel.w {
                                let source = "row + (ow &* \(p.stride.w) &+ \(j * p.dilation.w))"
                                let load = p.stride.w == 1
                                    ? "Self.load16(\(source))"
                                    : p.stride.w == 2
                                        ? "Self.loadEven16(\(source))" : "Self.load16(\(source), stride: \(p.stride.w), available: 16)"
                                w.line("m = Self.maximum(m, \(load))")
                            }
                            w.line("Self.store16(m, to: y + ((c &* \(output.height) &+ oh) &* \(output.width) &+ ow), count: min(16, \(output.width) &- ow))")
                        }
                    }
                }
            }
        }
    }

    func lowerPooling(_ p: Pooling, input: Shape, output: Shape, indexed: Bool, into w: inout SwiftWriter) {
        if isVectorPool(p, indexed: indexed) {
            lowerVectorMaxPool(p, input: input, output: output, into: &w)
            return
        }
        let (H, W, OH, OW) = (input.height, input.width, output.height, output.width)
        w.block("for c in 0..<\(output.channels)") { w in
            w.line("let planeOffset: Int = c &* \(literal(H * W))")
            w.line("let plane = x + planeOffset")
            w.block("for oh in 0..<\(OH)") { w in
                w.line("let h0: Int = oh &* \(p.stride.h) &- \(p.padding.top)")
                w.block("for ow in 0..<\(OW)") { w in
                    w.line("let w0: Int = ow &* \(p.stride.w) &- \(p.padding.left)")
                    if p.kind == .max {
                        w.line("var best = -Float.infinity")
                        w.line("var bestIndex = 0")
                        w.block("for i in 0..<\(p.kernel.h)") { w in
                            w.line("let h: Int = h0 &+ i &* \(p.dilation.h)")
                            w.line("guard h >= 0 && h < \(H) else { continue }")
                            w.block("for j in 0..<\(p.kernel.w)") { w in
                                w.line("let col: Int = w0 &+ j &* \(p.dilation.w)")
                                w.line("guard col >= 0 && col < \(W) else { continue }")
                                w.line("let v = plane[h &* \(W) &+ col]")
                                w.line("if v > best || v.isNaN { best = v; bestIndex = h &* \(W) &+ col }")
                            }
                        }
                        w.line("y[(c &* \(OH) &+ oh) &* \(OW) &+ ow] = best")
                        if indexed {
                            w.line("indices[(c &* \(OH) &+ oh) &* \(OW) &+ ow] = Float(bitPattern: UInt32(bestIndex))")
                        } else {
                            w.line("_ = bestIndex")
                        }
                    } else {
                        w.line("var sum: Float = 0")
                        w.line("var valid = 0")
                        w.block("for i in 0..<\(p.kernel.h)") { w in
                            w.line("let h: Int = h0 &+ i")
                            w.line("guard h >= 0 && h < \(H) else { continue }")
                            w.block("for j in 0..<\(p.kernel.w)") { w in
                                w.line("let col: Int = w0 &+ j")
                                w.line("guard col >= 0 && col < \(W) else { continue }")
                                w.line("sum += plane[h &* \(W) &+ col]")
                                w.line("valid &+= 1")
                            }
                        }
                        if p.countIncludePad {
                            w.comment("the window clipped to the padded input (PyTorch's divisor)")
                            w.line("let divisor: Int = (min(h0 &+ \(p.kernel.h), \(H + p.padding.bottom)) &- h0) &* (min(w0 &+ \(p.kernel.w), \(W + p.padding.right)) &- w0)")
                        } else {
                            w.line("let divisor: Int = max(valid, 1)")
                        }
                        w.line("y[(c &* \(OH) &+ oh) &* \(OW) &+ ow] = sum / Float(divisor)")
                    }
                }
            }
        }
    }
}
