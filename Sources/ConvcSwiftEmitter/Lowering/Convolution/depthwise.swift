// Depthwise convs on NCHW tensors: each channel padded into a plane on the thread's stack.

import ConvcIR

extension KernelLowering {
    /// One filter per channel: each output row in sixteen-pixel chunks, the kernel taps accumulated in a register.
    func lowerDepthwise(_ c: Convolution, _ depthwise: DepthwisePlan, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let padded = depthwise.padded
        let taps = c.kernel.h * c.kernel.w
        w.comment("weight: (\(c.filters), 1, \(c.kernel.h), \(c.kernel.w))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        // Borders are zeroed once; copies write the interior.
        let (phased, phaseColumns) = (depthwise.phased, depthwise.phaseColumns)
        let phasePlane = depthwise.phaseRows * phaseColumns
        let (planeFloats, planeCount) = (depthwise.planeFloats, depthwise.planes)
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
                            w.line("let r: Int = \(Index("h") + top)")
                            w.line("let phaseRow = plane\(plus(Index("(r & 1)") * (2 * phasePlane) + Index("(r >> 1)") * phaseColumns))")
                            w.line("let evens = phaseRow\(plus(Index(evenPhase * phasePlane + evenStart)))")
                            w.line("let odds = phaseRow\(plus(Index((1 - evenPhase) * phasePlane + oddStart)))")
                            w.line("let source = x\(plus((Index("c") * input.height + Index("h")) * input.width))")
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
                        w.line("let row: Int = \((Index("h") + c.padding.top) * padded.columns + c.padding.left)")
                        w.line("let source: Int = \((Index("c") * input.height + Index("h")) * input.width)")
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
                        w.line("let scratch = planes\(plus(Index("((c &- channels.lowerBound) & 1)") * planeFloats))")
                        w.block("if c &+ 1 < channels.upperBound") { w in
                            w.line("copy(c &+ 1, into: planes\(plus(Index("((c &+ 1 &- channels.lowerBound) & 1)") * planeFloats)))")
                        }
                    } else {
                        w.line("let scratch = planes")
                        w.line("copy(c, into: scratch)")
                    }
                    w.line("let kernelOffset: Int = \(Index("c") * taps)")
                    w.line("let k = w + kernelOffset")
                    w.line("let b = w[\(Index("c") + weights.biasOffset)]")
                    // Rows in groups of independent sums. The last group shifts back to end at the last row, so every
                    // row is `top` plus a constant and the taps below can share their loads.
                    let rows = depthwise.rows
                    // Rows of sixteen pixels or more shift their last chunk back to end at the row's end: every store is a
                    // whole vector, and the few pixels computed twice get the same value.
                    let shiftLastChunk = output.width >= 16
                    w.block("for firstRow in stride(from: 0, to: \(output.height), by: \(rows))") { w in
                        w.block("for \(shiftLastChunk ? "chunk" : "ow") in stride(from: 0, to: \(output.width), by: 16)") { w in
                            if shiftLastChunk { w.line("let ow: Int = min(chunk, \(output.width - 16))") }
                            w.line("let top: Int = min(firstRow, \(output.height - rows))")
                            for r in 0..<rows {
                                w.line("let oh\(r): Int = \(Index("top") + r)")
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
                                let index = ((Index("c") * output.height + Index("oh\(r)")) * output.width + Index("ow")).description
                                w.line("Self.store16(\(finished("a\(r)", index: index, count: "count")), to: y + (\(index)), count: count)")
                            }
                        }
                    }
                }
            }
        }
    }
}
