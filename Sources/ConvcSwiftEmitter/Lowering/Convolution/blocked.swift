// Convs over a zero-padded copy (or a 1×1 conv's own planes): a block of filters × sixteen pixels of a row.

import ConvcIR

extension KernelLowering {
    /// Where block `block` of filters starts: its filters, input channels (its group's), weights and bias.
    /// Bias is (filters) padded with zeros to whole blocks; lanes past `filters` are never stored.
    func filterBlockPreamble(_ c: Convolution, into w: inout SwiftWriter) {
        let filterBlock = tiling.filterBlock
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        let group = Index("block").dividedBy(blocksPerGroup), blockInGroup = Index("block").remainder(blocksPerGroup)
        w.line("let firstFilter: Int = \(group * outPerGroup + blockInGroup * filterBlock)")
        w.line("let filters: Int = min(\(filterBlock), \(group * outPerGroup + outPerGroup - Index("firstFilter")))")
        w.line("let firstChannel: Int = \(group * inPerGroup)")
        w.line("let kernelOffset: Int = \(Index("block") * (inPerGroup * c.kernel.h * c.kernel.w * filterBlock))")
        w.line("let kernel = w + kernelOffset")
        w.line("let biasOffset: Int = \(Index("firstFilter") + weights.biasOffset)")
        w.line("let bias = w + biasOffset")
    }

    /// Convolution with the output tile in registers: a block of output channels × sixteen pixels of one output
    /// row in SIMD16 accumulators, summed over input channels and kernel taps; the input is first copied into a
    /// zero-padded scratch plane, so no load needs a bounds check (1×1 stride-1 convs read the input directly).
    func lowerBlocked(_ c: Convolution, _ blocked: BlockedPlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let filterBlock = tiling.filterBlock
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let plane = output.height * output.width
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        w.comment("weight: (\(c.groups * blocksPerGroup) blocks, \(c.kernel.h), \(c.kernel.w), \(inPerGroup), \(filterBlock))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        var source = "x"
        var rowStride = input.width, planeStride = input.height * input.width
        let direct = blocked.padded == nil
        if let padded = blocked.padded {
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(padded.rows), columns: \(padded.columns), into: scratch, threads: threads)")
            source = "scratch"
            rowStride = padded.columns
            planeStride = padded.rows * padded.columns
        }
        // Blocks write disjoint output channels and only read the padded copy, so threads split them.
        w.block("Self.parallel(\(c.groups * blocksPerGroup), threads: threads)", opening: " { blocks in") { w in
            w.block("for block in blocks") { w in
                filterBlockPreamble(c, into: &w)
                let rows = direct ? 1 : output.height
                let width = direct ? plane : output.width
                // A 1×1 conv of at least sixteen pixels shifts its last chunk back to end at the last pixel: a few
                // pixels are computed twice, and every load and store is a whole vector.
                let shiftLastChunk = direct && plane >= 16 && plane % 16 != 0
                w.block("for oh in 0..<\(rows)") { w in
                    w.block(shiftLastChunk ? "for chunk in stride(from: 0, to: \(literal(width)), by: 16)" : "for ow in stride(from: 0, to: \(literal(width)), by: 16)") { w in
                        if shiftLastChunk { w.line("let ow: Int = min(chunk, \(literal(plane - 16)))") }
                        for r in 0..<filterBlock { w.line("var a\(r) = SIMD16<Float>(repeating: bias[\(r)])") }
                        if direct {
                            w.block("for ic in 0..<\(inPerGroup)") { w in
                                w.line("let planeOffset: Int = \((Index("firstChannel") + Index("ic")) * planeStride + Index("ow"))")
                                if plane >= 16 {
                                    w.line("let v = Self.load16(\(source) + planeOffset)")
                                } else {
                                    w.line("let v = Self.load16(\(source) + planeOffset, stride: 1, available: \(literal(plane)) &- ow)")
                                }
                                w.line("let k = kernel\(plus(Index("ic") * filterBlock))")
                                for r in 0..<filterBlock { w.line("Self.multiplyAdd(&a\(r), k[\(r)], v)") }
                            }
                        } else {
                            // Tap-major, channels innermost: consecutive loads come from different planes, so the
                            // vectoriser keeps them as plain sixteen-lane loads.
                            w.block("for i in 0..<\(c.kernel.h)") { w in
                                w.line("let rowOffset: Int = \((Index("firstChannel") * (planeStride / rowStride) + Index("oh") * c.stride.h + Index("i") * c.dilation.h) * rowStride + Index("ow") * c.stride.w)")
                                w.block("for j in 0..<\(c.kernel.w)") { w in
                                    w.line("let tapOffset: Int = \((Index("i") * c.kernel.w + Index("j")) * (inPerGroup * filterBlock))")
                                    w.line("let columnOffset: Int = \(Index("rowOffset") + Index("j") * c.dilation.w)")
                                    w.block("for ic in 0..<\(inPerGroup)") { w in
                                        if c.stride.w == 1 {
                                            // In bounds: the padded copy is wide enough for a whole last chunk.
                                            w.line("let v = Self.load16(\(source)\(plus(Index("columnOffset") + Index("ic") * planeStride)))")
                                        } else if c.stride.w == 2 {
                                            w.line("let v = Self.loadEven16(\(source)\(plus(Index("columnOffset") + Index("ic") * planeStride)))")
                                        } else {
                                            w.line("let v = Self.load16(\(source)\(plus(Index("columnOffset") + Index("ic") * planeStride)), stride: \(c.stride.w), available: 16)")
                                        }
                                        w.line("let k = kernel\(plus(Index("tapOffset") + Index("ic") * filterBlock))")
                                        for r in 0..<filterBlock { w.line("Self.multiplyAdd(&a\(r), k[\(r)], v)") }
                                    }
                                }
                            }
                        }
                        w.line("let count: Int = min(16, \(literal(width)) &- ow)")
                        w.line("let outputOffset: Int = \(Index("firstFilter") * plane + Index("oh") * width + Index("ow"))")
                        for r in 0..<filterBlock {
                            let index = (Index("outputOffset") + r * plane).description
                            w.line("if \(r) < filters { Self.store16(\(finished("a\(r)", index: index, count: "count")), to: y + (\(index)), count: count) }")
                        }
                    }
                }
            }
        }
    }
}
