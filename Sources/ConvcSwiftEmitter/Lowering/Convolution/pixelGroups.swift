// Convs on 16 registers: vectors of output channels × a group of output pixels anywhere in the map.

import ConvcIR

extension KernelLowering {
    /// Vectors of output channels × a group of output pixels (consecutive in the map, across row ends), summed
    /// over taps and input channels with each input value broadcast. Every pixel's input is found through its own
    /// offset, so strides, row ends and narrow maps cost nothing. The map goes in bands of groups whose input
    /// stays in L2 while every block of channels reads it. Deep layers sum their input channels in chunks whose
    /// weights (and, on small maps, inputs) stay in L1, keeping the band's partial sums between chunks.
    func lowerPixelGroups(_ c: Convolution, _ groupPlan: PixelGroupPlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let sides = plan.layout
        let tile = groupPlan.tile
        let (lanes, vector, vectors, pixels, channels) = (tiling.lanes, tiling.vector, tile.vectors, tile.pixels, tile.channels)
        let taps = c.kernel.h * c.kernel.w
        let blocks = c.filters / channels
        let plane = output.height * output.width
        let groups = (plane + pixels - 1) / pixels
        let (rows, columns, copied, subsampled) = (groupPlan.source.rows, groupPlan.source.columns, groupPlan.source.copied, groupPlan.source.subsampled)
        let source = copied ? "scratch" : "x"
        // A subsampled copy holds just the pixels a strided 1×1 conv reads (a projection reads every other pixel of
        // every other row, half of each cache line it fetches): the conv reads it at stride 1.
        let stride = subsampled ? Pair(1, 1) : c.stride
        let chunk = groupPlan.chunk
        let chunked = chunk != nil
        let chunkChannels = chunk ?? c.inChannels
        let relu = plan.epilogue.activation == .relu
        let residual = groupPlan.residualPass
        let bandGroups = groupPlan.bandGroups
        let tileVectors = vectors * pixels
        w.comment("weight: (\(blocks) blocks, \(c.kernel.h), \(c.kernel.w), \(c.inChannels), \(channels))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
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
                        w.line("let kernelOffset: Int = \(Index("block") * (c.inChannels * taps * channels))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(Index("block") * channels + weights.biasOffset)")
                        for v in 0..<vectors {
                            w.line("let bias\(v) = Self.load\(lanes)(w\(plus(Index("biasOffset") + lanes * v)))")
                        }
                        func groupLoop(_ body: (inout SwiftWriter) -> Void, into w: inout SwiftWriter) {
                            w.block("for group in band..<min(band &+ \(bandGroups), \(groups))") { w in
                                // The last group shifts back to end at the map's end; a few pixels are computed twice.
                                w.line("let first: Int = min(\(Index("group") * pixels), \(plane - pixels))")
                                body(&w)
                            }
                        }
                        // An NCHWc output goes straight from the accumulators (or the chunks' tile), a vector per pixel.
                        func storeNCHWc(_ value: (Int, Int) -> String, into w: inout SwiftWriter) {
                            for v in 0..<vectors {
                                for p in 0..<pixels {
                                    let index = offset([("block", vectors * plane * lanes), ("first", lanes)], plus: (v * plane + p) * lanes)
                                    w.line("Self.store(\(vectorActivation(value(v, p))), to: y + (\(index)))")
                                }
                            }
                        }
                        func accumulate(_ w: inout SwiftWriter) {
                            if chunked || !sides.output {
                                w.line("let tile = tiles.baseAddress!\(chunked ? " + (group &- band) &* \(2 * tileVectors)" : "")")
                            }
                            for p in 0..<pixels {
                                // The input offset of pixel p of the group: its window's top-left corner (NCHWc: its vector).
                                let q = offset([("first", 1)], plus: p)
                                if sides.input {
                                    w.line("let o\(p): Int = \((Index("first") + p) * nchwcLanes)")
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
                            w.line("let tileLanes = lanes\(chunked ? " + (group &- band) &* \(2 * tileVectors * lanes)" : "")")
                            w.block("for oc in 0..<\(channels)") { w in
                                w.line("let outputOffset: Int = \((Index("block") * channels + Index("oc")) * plane + Index("first"))")
                                w.line("let lane: Int = \(Index("oc").dividedBy(lanes) * (2 * pixels * lanes) + Index("oc").remainder(lanes))")
                                w.block("for p in 0..<\(pixels)") { w in
                                    if residual {
                                        w.line("y[outputOffset &+ p] = tileLanes[lane &+ p &* \(2 * lanes)]")
                                    } else {
                                        w.line("let v = tileLanes[lane &+ p &* \(2 * lanes)]\(plan.epilogue.residual ? " + \(plan.residualArgument)[outputOffset &+ p]" : "")")
                                        w.line("y[outputOffset &+ p] = \(activationExpression ?? "v")")
                                    }
                                }
                            }
                        }
                        func addResidual(_ w: inout SwiftWriter) {
                            w.line("let firstPixel: Int = min(\(Index("band") * pixels), \(plane - pixels))")
                            w.line("let endPixel: Int = min(\((Index("band") + bandGroups) * pixels), \(plane))")
                            w.block("for oc in 0..<\(channels)") { w in
                                w.line("let planeOffset: Int = \((Index("block") * channels + Index("oc")) * plane)")
                                w.line("Self.addResidual(y + planeOffset, \(plan.residualArgument) + planeOffset, from: firstPixel, to: endPixel, relu: \(relu))")
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
            func weight(_ v: Int) -> String { "Self.load\(lanes)(k\(plus(Index(kernelOffset + lanes * v))))" }
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
                w.line("let tap = \(source)\(plus(Index("inputBlock") * (channelStride * nchwcLanes)))")
                w.line("let k = \(kernel)\(plus(Index("inputBlock") * (nchwcLanes * tile.channels)))")
                for j in 0..<nchwcLanes {
                    products(offset: j, kernelOffset: j * tile.channels, suffix: "_\(j)", into: &w)
                }
            }
            return
        }
        w.block("for ic in 0..<\(channels)") { w in
            w.line("let tap = \(source)\(plus(Index("ic") * channelStride))")
            w.line("let k = \(kernel)\(plus(Index("ic") * tile.channels))")
            products(offset: 0, kernelOffset: 0, suffix: "", into: &w)
        }
    }
}
