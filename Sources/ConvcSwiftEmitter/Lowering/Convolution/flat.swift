// Convs over the flat positions of a zero-padded input (or its four phase planes, for stride 2).

import ConvcIR

extension KernelLowering {
    /// A stride-1 conv over the flat positions of its zero-padded input: output pixel (oh, ow) is position
    /// oh · columns + ow, and tap (i, j) reads position + i · columns + j, so each input load is one contiguous
    /// vector whatever the row width. A block of filters × vectors of positions stays in accumulators; positions
    /// past a row's end (ow ≥ output width) are computed and dropped at the store.
    func lowerFlatConvolution(_ c: Convolution, _ padded: FlatPlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let (filterBlock, chunks, lanes, vector, flatTile) = (tiling.filterBlock, tiling.pixelChunks, tiling.lanes, tiling.vector, tiling.pixelTile)
        let phasePlane = padded.rows * padded.columns
        let planeStride = padded.phases * phasePlane
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let blocksPerGroup = (outPerGroup + filterBlock - 1) / filterBlock
        let positions = (output.height - 1) * padded.columns + output.width
        let plane = output.height * output.width
        let tapStride = inPerGroup * filterBlock
        w.comment("weight: (\(c.groups * blocksPerGroup) blocks, \(c.kernel.h), \(c.kernel.w), \(inPerGroup), \(filterBlock))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
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
        // Bands of positions whose input stays in L2 while every block reads it.
        let band = padded.band
        w.block("Self.parallel(\(c.groups * blocksPerGroup), threads: threads)", opening: " { blocks in") { w in
            // Every other slot of the tile: see lowerPointwise.
            w.block("withUnsafeTemporaryAllocation(of: \(vector).self, capacity: \(2 * filterBlock * chunks))", opening: " { tile in") { w in
                w.block("for band in stride(from: 0, to: \(literal(positions)), by: \(literal(band)))") { w in
                    w.block("for block in blocks") { w in
                        filterBlockPreamble(c, into: &w)
                        w.block("for p in stride(from: band, to: min(band &+ \(literal(band)), \(literal(positions))), by: \(flatTile))") { w in
                            for r in 0..<filterBlock {
                                for t in 0..<chunks { w.line("var a\(r)_\(t) = \(vector)(repeating: bias[\(r)])") }
                            }
                            w.block("for i in 0..<\(c.kernel.h)") { w in
                                let rowTap = padded.phases == 1 ? Index("i") * (c.dilation.h * padded.columns) : Index("(i & 1)") * (2 * phasePlane) + Index("(i >> 1)") * padded.columns
                                w.line("let rowOffset: Int = \(Index("firstChannel") * planeStride + Index("p") + rowTap)")
                                w.block("for j in 0..<\(c.kernel.w)") { w in
                                    w.line("let tapOffset: Int = \((Index("i") * c.kernel.w + Index("j")) * tapStride)")
                                    w.line("let columnOffset: Int = rowOffset &+ \(padded.phases == 1 ? "\(Index("j") * c.dilation.w)" : "\(Index("(j & 1)") * phasePlane + Index("(j >> 1)"))")")
                                    w.block("for ic in 0..<\(inPerGroup)") { w in
                                        w.line("let source = scratch\(plus(Index("columnOffset") + Index("ic") * planeStride))")
                                        for t in 0..<chunks {
                                            w.line("let v\(t) = Self.load\(lanes)(source\(plus(Index(lanes * t))))")
                                        }
                                        w.line("let k = kernel\(plus(Index("tapOffset") + Index("ic") * filterBlock))")
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
                                w.line("let filterOffset: Int = \((Index("firstFilter") + Index("r")) * plane)")
                                w.block("for t in 0..<\(chunks)") { w in
                                    w.line("let q: Int = \(Index("p") + Index("t") * lanes)")
                                    w.line("let row: Int = \(Index("q").dividedBy(padded.columns))")
                                    w.line("let column: Int = \(Index("q") - Index("row") * padded.columns)")
                                    w.line("let v = tile[\((Index("r") * chunks + Index("t")) * 2)]")
                                    // A whole vector of one output row: one vector store; else lane by lane, out of line.
                                    w.block("if column &+ \(lanes) <= \(output.width) && q &+ \(lanes) <= \(literal(positions))") { w in
                                        w.line("let index: Int = \(Index("filterOffset") + Index("row") * output.width + Index("column"))")
                                        w.line("Self.store(\(finished("v", index: "index", count: "\(lanes)", lanes: lanes)), to: y + index)")
                                    }
                                    w.block("else") { w in
                                        var partial = "v"
                                        if plan.epilogue.residual {
                                            partial = "Self.plusFlat(v, \(plan.residualArgument) + filterOffset, row: row, column: column, width: \(output.width), columns: \(padded.columns), end: \(literal(positions)))"
                                        }
                                        w.line("Self.scatterFlat(\(vectorActivation(partial)), to: y + filterOffset, row: row, column: column, width: \(output.width), columns: \(padded.columns), end: \(literal(positions)))")
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
