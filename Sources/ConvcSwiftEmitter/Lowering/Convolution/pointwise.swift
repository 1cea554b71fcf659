// 1×1 stride-1 convs: the input planes are the matrix.

import ConvcIR

extension KernelLowering {
    /// A 1×1 stride-1 conv over at least one tile of pixels: the input planes are the matrix. A block of filters ×
    /// vectors of pixels in accumulators; the last tile is shifted back to end at the last pixel, so a few pixels
    /// are computed twice and every load and store is a whole vector.
    func lowerPointwise(_ c: Convolution, _ pointwise: PointwisePlan, output: Shape, into w: inout SwiftWriter) {
        let plane = output.height * output.width
        let (filterBlock, chunks, lanes, vector) = (tiling.filterBlock, tiling.pixelChunks, tiling.lanes, tiling.vector)
        let blocks = (c.filters + filterBlock - 1) / filterBlock
        w.comment("weight: (\(blocks) blocks, \(c.inChannels), \(filterBlock))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        w.comment("tile: \(filterBlock) filters × \(chunks) vectors of \(lanes) pixels")
        // Bands of pixels whose input stays in L1 and L2 while every filter block reads it.
        let tilePixels = tiling.pixelTile
        let band = pointwise.band
        w.block("Self.parallel(\(blocks), threads: threads)", opening: " { blocks in") { w in
            // Every other slot of the tile: consecutive vector stores would let the optimiser fuse accumulators into
            // wider vectors, which it then splits into halves across the whole loop.
            w.block("withUnsafeTemporaryAllocation(of: \(vector).self, capacity: \(2 * filterBlock * chunks))", opening: " { tile in") { w in
                w.block("for band in stride(from: 0, to: \(literal(plane)), by: \(literal(band)))") { w in
                    w.block("for block in blocks") { w in
                        w.line("let firstFilter: Int = \(Index("block") * filterBlock)")
                        w.line("let filters: Int = min(\(filterBlock), \(c.filters) &- firstFilter)")
                        w.line("let kernelOffset: Int = \(Index("block") * (c.inChannels * filterBlock))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let biasOffset: Int = \(Index("firstFilter") + weights.biasOffset)")
                        w.line("let bias = w + biasOffset")
                        w.block("for start in stride(from: band, to: min(band &+ \(literal(band)), \(literal(plane))), by: \(tilePixels))") { w in
                            w.line("let p: Int = min(start, \(literal(plane - tilePixels)))")
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("var a\(r)_\(t) = \(vector)(repeating: bias[\(r)])") }
                            }
                            w.block("for ic in 0..<\(c.inChannels)") { w in
                                w.line("let source = x\(plus(Index("ic") * plane + Index("p")))")
                                for t in 0..<chunks {
                                    w.line("let v\(t) = Self.load\(lanes)(source\(plus(Index(lanes * t))))")
                                }
                                w.line("let k = kernel\(plus(Index("ic") * filterBlock))")
                                for r in 0..<filterBlock {
                                    for t in 0..<chunks { w.line("Self.multiplyAdd(&a\(r)_\(t), k[\(r)], v\(t))") }
                                }
                            }
                            w.line("let outputOffset: Int = \(Index("firstFilter") * plane + Index("p"))")
                            // The tile goes to memory before the activation and the residual add: applied to live
                            // accumulators, swiftc splits them into quarter vectors inside the channel loop (measured: a
                            // 32→64 conv at 112×112 ran 1.7 times slower).
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("tile[\(2 * (r * chunks + t))] = a\(r)_\(t)") }
                            }
                            w.block("for r in 0..<filters") { w in
                                w.block("for t in 0..<\(chunks)") { w in
                                    w.line("let index: Int = \(Index("outputOffset") + Index("r") * plane + Index("t") * lanes)")
                                    w.line("Self.store(\(finished("tile[\((Index("r") * chunks + Index("t")) * 2)]", index: "index", count: "\(lanes)", lanes: lanes)), to: y + index)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
