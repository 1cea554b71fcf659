// 3×3 stride-1 convs as Winograd's F(2×2, 3×3).

import ConvcIR

extension KernelLowering {
    /// Winograd's F(2×2, 3×3) in bands of tile rows: the band's 4×4 input tiles go to the transformed domain
    /// (Bᵀ d B, eight tiles at a time), sixteen products over channels run as pixel groups whose "pixels" are tiles
    /// (16 filters × 6 tiles in registers, each transformed input broadcast), and each 2×2 output tile comes back
    /// as Aᵀ m A, eight filters at a time, with the bias, the residual and the activation.
    func lowerWinograd(_ c: Convolution, _ winograd: WinogradPlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let tile = tiling.groupTile
        let (vectors, pixels, channels) = (tile.vectors, tile.pixels, tile.channels)
        let (inChannels, filters) = (c.inChannels, c.filters)
        let blocks = filters / channels
        let (columns, tileColumns, vectorColumns) = (winograd.columns, winograd.tileColumns, winograd.vectorColumns)
        let planeFloats = winograd.rows * columns
        // Floats of one transformed value of one input channel: the band's tiles, rows `vectorColumns` apart.
        let valueStride = winograd.valueStride
        let biasOffset = weights.biasOffset
        w.comment("weight: (16 values, \(blocks) blocks, \(inChannels), \(channels)): G g Gᵀ of each filter and input channel   bias: w[\(literal(biasOffset))..<\(literal(weights.count))]")
        w.comment("Winograd F(2×2, 3×3): \(winograd.tileRows)×\(tileColumns) tiles in bands of \(winograd.bandRows) tile rows; products: \(channels) filters × \(pixels) tiles, each transformed input broadcast")
        w.line("Self.pad(x, channels: \(inChannels), height: \(input.height), width: \(input.width), top: \(c.padding.top), left: \(c.padding.left), rows: \(winograd.rows), columns: \(columns), into: scratch, threads: threads)")
        w.line("let transformed = scratch + \(literal(winograd.paddedFloats))")
        w.line("let products = transformed + \(literal(winograd.transformedFloats))")
        w.block("for firstRow in stride(from: 0, to: \(winograd.tileRows), by: \(winograd.bandRows))") { w in
            w.line("let bandRows: Int = min(\(winograd.bandRows), \(winograd.tileRows) &- firstRow)")
            w.line("let tiles: Int = \(Index("bandRows") * tileColumns)")
            // Bᵀ d B on eight tiles of a tile row at once: tile t's window starts at column 2t, so its four
            // columns are the even and odd lanes of sixteen values from 2t and from 2t + 2.
            w.comment("input tiles to the transformed domain, input channels split over threads")
            w.block("Self.parallel(\(inChannels), threads: threads)", opening: " { inputChannels in") { w in
                w.block("for ic in inputChannels") { w in
                    w.block("for r in 0..<bandRows") { w in
                        w.line("let rowOffset: Int = \(Index("ic") * planeFloats + (Index("firstRow") + Index("r")) * (2 * columns))")
                        w.line("let window = scratch + rowOffset")
                        w.line("let targetOffset: Int = \(Index("ic") * valueStride + Index("r") * vectorColumns)")
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
                    w.line("let sourceOffset: Int = \(Index("value") * (inChannels * valueStride))")
                    w.line("let source = transformed + sourceOffset")
                    w.block("for block in blocks") { w in
                        w.line("let kernelOffset: Int = \((Index("value") * blocks + Index("block")) * (inChannels * channels))")
                        w.line("let kernel = w + kernelOffset")
                        w.line("let productBlock = products\(plus(offset([("value", filters), ("block", channels)])))")
                        w.block("for group in 0..<(tiles &+ \(pixels - 1)) / \(pixels)") { w in
                            // The last group shifts back to end at the band's last tile.
                            w.line("let first: Int = min(\(Index("group") * pixels), \(Index("tiles") - pixels))")
                            for p in 0..<pixels {
                                w.line("let q\(p): Int = \(offset([("first", 1)], plus: p))")
                                w.line("let o\(p): Int = \(pixelOffset("q\(p)", width: tileColumns, rowStride: vectorColumns, columnStride: 1))")
                            }
                            for v in 0..<vectors {
                                for p in 0..<pixels { w.line("var a\(v)_\(p) = SIMD8<Float>()") }
                            }
                            broadcastProducts(tile, channels: inChannels, source: "source", channelStride: valueStride, kernel: "kernel", into: &w)
                            for p in 0..<pixels {
                                w.line("let product\(p) = productBlock\(plus(Index("q\(p)") * (16 * filters)))")
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
                    if !plan.layout.output {
                        w.line("let lanes = UnsafeMutableRawPointer(outputs.baseAddress!).assumingMemoryBound(to: Float.self)")
                    }
                    w.block("for f in filterVectors") { w in
                        w.line("let bias = Self.load8(w\(plus(Index("f") * 8 + biasOffset)))")
                        w.block("for q in 0..<tiles") { w in
                            w.line("let productOffset: Int = \(Index("q") * (16 * filters) + Index("f") * 8)")
                            w.line("let m = products + productOffset")
                            for i in 0..<4 {
                                for j in 0..<4 {
                                    w.line("let m\(i)_\(j) = Self.load8(m\(plus(Index((4 * i + j) * filters))))")
                                }
                            }
                            for j in 0..<4 {
                                w.line("let s0_\(j) = m0_\(j) + m1_\(j) + m2_\(j), s1_\(j) = m1_\(j) - m2_\(j) - m3_\(j)")
                            }
                            for a in 0..<2 {
                                w.line("outputs[\(2 * a)] = s\(a)_0 + s\(a)_1 + s\(a)_2 + bias")
                                w.line("outputs[\(2 * a + 1)] = s\(a)_1 - s\(a)_2 - s\(a)_3 + bias")
                            }
                            w.line("let oh: Int = \((Index("firstRow") + Index("q").dividedBy(tileColumns)) * 2), ow: Int = \(Index("q").remainder(tileColumns) * 2)")
                            // Output (oh + a, ow + b) exists unless an odd map's last tile hangs over its edge.
                            func guards(_ a: Int, _ b: Int) -> [String] {
                                var guards: [String] = []
                                if a == 1 && output.height % 2 == 1 { guards.append("oh &+ 1 < \(output.height)") }
                                if b == 1 && output.width % 2 == 1 { guards.append("ow &+ 1 < \(output.width)") }
                                return guards
                            }
                            if plan.layout.output {
                                // NCHWc: each output pixel's eight filters are one vector.
                                w.line("let corner: Int = \(Index("f") * (output.height * output.width * 8) + (Index("oh") * output.width + Index("ow")) * 8)")
                                for a in 0..<2 {
                                    for b in 0..<2 {
                                        let store = "Self.store(\(vectorActivation("outputs[\(2 * a + b)]")), to: y + (\(offset([("corner", 1)], plus: (a * output.width + b) * 8))))"
                                        let guards = guards(a, b)
                                        w.line(guards.isEmpty ? store : "if \(guards.joined(separator: " && ")) { \(store) }")
                                    }
                                }
                                return
                            }
                            w.block("for lane in 0..<8") { w in
                                w.line("let corner: Int = \((Index("f") * 8 + Index("lane")) * (output.height * output.width) + Index("oh") * output.width + Index("ow"))")
                                for a in 0..<2 {
                                    for b in 0..<2 {
                                        let guards = guards(a, b)
                                        let index = offset([("corner", 1)], plus: a * output.width + b)
                                        let body = { (w: inout SwiftWriter) in
                                            w.line("let index: Int = \(index)")
                                            w.line("let v = lanes[\((2 * a + b) * 8) &+ lane]\(plan.epilogue.residual ? " + \(plan.residualArgument)[index]" : "")")
                                            w.line("y[index] = \(self.activationExpression ?? "v")")
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
}
