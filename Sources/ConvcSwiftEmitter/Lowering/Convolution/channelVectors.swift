// Convs on 32 registers: vectors of sixteen output channels × a row segment of pixels.

import ConvcIR

extension KernelLowering {
    /// Vectors of sixteen output channels: two of them × a row segment of up to fourteen pixels in registers,
    /// summed over input channels and taps, each input value broadcast to all lanes. The tile then goes to memory
    /// and out channel by channel (the output is channels-first).
    func lowerChannelVectors(_ c: Convolution, _ vectorPlan: ChannelVectorPlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        // A flattened 1×1 conv's planes are one row each.
        let input = vectorPlan.flattened ? .chw(input.channels, 1, input.height * input.width) : input
        let output = vectorPlan.flattened ? .chw(output.channels, 1, output.height * output.width) : output
        let taps = c.kernel.h * c.kernel.w
        let blocks = c.filters / channelBlock
        let vectors = channelBlock / 16
        let (pixels, bandRows) = (vectorPlan.pixels, vectorPlan.bandRows)
        let padded = vectorPlan.padded != nil
        let rows = vectorPlan.padded?.rows ?? input.height
        let columns = vectorPlan.padded?.columns ?? input.width
        let plane = output.height * output.width
        w.comment("weight: (\(blocks) blocks, \(c.inChannels), \(c.kernel.h), \(c.kernel.w), \(channelBlock))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        w.comment("tile: \(channelBlock) channels × \(pixels) pixels of an output row, sixteen channels to a vector")
        if padded {
            w.line("Self.pad(x, channels: \(c.inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(rows), columns: \(columns), into: scratch, threads: threads)")
        }
        let source = padded ? "scratch" : "x"
        // Blocks write disjoint output channels and only read the input, so threads split them.
        // Bands of output rows whose input rows stay in L2 while every block reads them.
        w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
            w.block("withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: \(vectors * pixels))", opening: " { tile in") { w in
                w.line("let lanes = UnsafeMutableRawPointer(tile.baseAddress!).assumingMemoryBound(to: Float.self)")
                w.block("for band in stride(from: 0, to: \(output.height), by: \(bandRows))") { w in
                    w.block("for block in blocks") { w in
                        w.line("let kernelOffset: Int = \(Index("block") * (c.inChannels * taps * channelBlock))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(Index("block") * channelBlock + weights.biasOffset)")
                        for v in 0..<vectors {
                            w.line("let bias\(v) = Self.load16(w\(plus(Index("biasOffset") + 16 * v)))")
                        }
                        w.block("for oh in band..<min(band &+ \(bandRows), \(output.height))") { w in
                            w.block("for segment in stride(from: 0, to: \(output.width), by: \(pixels))") { w in
                                // The last segment shifts back to end at the row's end; a few pixels are computed twice.
                                w.line("let ow: Int = min(segment, \(output.width - pixels))")
                                for v in 0..<vectors {
                                    for p in 0..<pixels { w.line("var a\(v)_\(p) = bias\(v)") }
                                }
                                w.block("for ic in 0..<\(c.inChannels)") { w in
                                    w.line("let planeOffset: Int = \(Index("ic") * (rows * columns) + Index("oh") * (c.stride.h * columns) + Index("ow") * c.stride.w)")
                                    w.line("let k = kernel\(plus(Index("ic") * (taps * channelBlock)))")
                                    // One tap: its weight vectors, times each pixel's input value.
                                    func tap(_ offset: Index, weights: Index, into w: inout SwiftWriter) {
                                        w.line("let tap = \(source)\(plus(Index("planeOffset") + offset))")
                                        for v in 0..<vectors {
                                            w.line("let w\(v) = Self.load16(k\(plus(weights + 16 * v)))")
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
                                                    tap(Index(i * c.dilation.h * columns + j * c.dilation.w), weights: Index((i * c.kernel.w + j) * channelBlock), into: &w)
                                                }
                                            }
                                        }
                                    } else {
                                        w.block("for i in 0..<\(c.kernel.h)") { w in
                                            w.block("for j in 0..<\(c.kernel.w)") { w in
                                                tap(Index("i") * (c.dilation.h * columns) + Index("j") * c.dilation.w, weights: (Index("i") * c.kernel.w + Index("j")) * channelBlock, into: &w)
                                            }
                                        }
                                    }
                                }
                                for v in 0..<vectors {
                                    for p in 0..<pixels { w.line("tile[\(v * pixels + p)] = a\(v)_\(p)") }
                                }
                                // The activation runs on the tile in memory, once the accumulators are dead (it may be a call,
                                // and vector registers do not survive one); with a residual to add first, in the pass below.
                                if !plan.epilogue.residual, activationExpression != nil {
                                    w.block("for t in 0..<\(vectors * pixels)") { w in
                                        w.line("let v = tile[t]")
                                        w.line("tile[t] = \(vectorActivation("v"))")
                                    }
                                }
                                w.block("for oc in 0..<\(channelBlock)") { w in
                                    w.line("let outputOffset: Int = \((Index("block") * channelBlock + Index("oc")) * plane + Index("oh") * output.width + Index("ow"))")
                                    w.line("let lane: Int = \(Index("(oc >> 4)") * (pixels * 16) + Index("(oc & 15)"))")
                                    w.block("for p in 0..<\(pixels)") { w in
                                        if plan.epilogue.residual {
                                            w.line("let v = lanes[lane &+ p &* 16] + \(plan.residualArgument)[outputOffset &+ p]")
                                            w.line("y[outputOffset &+ p] = \(activationExpression ?? "v")")
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
}
