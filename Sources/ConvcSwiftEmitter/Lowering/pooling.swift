// Windowed pools: max pools on vectors over rows bordered with −∞, the others pixel by pixel.

import ConvcIR

extension KernelLowering {
    /// Max pooling on sixteen output pixels at a time, with −∞ standing for padding: no bounds checks across a
    /// row, and NaN wins as in PyTorch.
    func lowerVectorMaxPool(_ p: Pooling, columns: Int, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let (H, W) = (input.height, input.width)
        let rowsCanLeave = p.padding.top > 0 || (output.height - 1) * p.stride.h + (p.kernel.h - 1) * p.dilation.h >= H
        // Channels split over threads. Each output row first takes the maximum down the window's rows, into a row
        // bordered with −∞ on the thread's stack; the taps across then read that row (no padded copy of the input).
        w.block("Self.parallel(\(input.channels), threads: threads)", opening: " { channels in") { w in
            w.block("withUnsafeTemporaryAllocation(of: Float.self, capacity: \(columns))", opening: " { buffer in") { w in
                w.line("let row = buffer.baseAddress!")
                w.line("row.initialize(repeating: -.infinity, count: \(columns))")
                w.block("for c in channels") { w in
                    w.line("let plane = x\(plus(Index("c") * (H * W)))")
                    w.block("for oh in 0..<\(output.height)") { w in
                        w.line("let top: Int = \(Index("oh") * p.stride.h - p.padding.top)")
                        w.block("for k in stride(from: 0, to: \(W), by: 16)") { w in
                            w.line("let count = min(16, \(W) &- k)")
                            w.line("var m = SIMD16<Float>(repeating: -.infinity)")
                            w.block("for i in 0..<\(p.kernel.h)") { w in
                                w.line("let h: Int = \(Index("top") + Index("i") * p.dilation.h)")
                                if rowsCanLeave { w.line("guard h >= 0 && h < \(H) else { continue }") }
                                w.line("m = Self.maximum(m, Self.load16(plane\(plus(Index("h") * W + Index("k"))), stride: 1, available: count))")
                            }
                            w.line("Self.store16(m, to: row + (\(p.padding.left) &+ k), count: count)")
                        }
                        w.block("for ow in stride(from: 0, to: \(output.width), by: 16)") { w in
                            w.line("var m = SIMD16<Float>(repeating: -.infinity)")
                            for j in 0..<p.kernel.w {
                                let source = "row\(plus(Index("ow") * p.stride.w + j * p.dilation.w))"
                                let load = p.stride.w == 1
                                    ? "Self.load16(\(source))"
                                    : p.stride.w == 2
                                        ? "Self.loadEven16(\(source))" : "Self.load16(\(source), stride: \(p.stride.w), available: 16)"
                                w.line("m = Self.maximum(m, \(load))")
                            }
                            w.line("Self.store16(m, to: y\(plus((Index("c") * output.height + Index("oh")) * output.width + Index("ow"))), count: min(16, \(output.width) &- ow))")
                        }
                    }
                }
            }
        }
    }

    /// Pooling pixel by pixel: average pools, and max pools that keep their argmax indices.
    func lowerPooling(_ p: Pooling, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let indexed = plan.indices == .writes
        let (H, W, OH, OW) = (input.height, input.width, output.height, output.width)
        let outputIndex = (Index("c") * OH + Index("oh")) * OW + Index("ow")
        let inputIndex = Index("h") * W + Index("col")
        w.block("for c in 0..<\(output.channels)") { w in
            w.line("let planeOffset: Int = \(Index("c") * (H * W))")
            w.line("let plane = x + planeOffset")
            w.block("for oh in 0..<\(OH)") { w in
                w.line("let h0: Int = \(Index("oh") * p.stride.h - p.padding.top)")
                w.block("for ow in 0..<\(OW)") { w in
                    w.line("let w0: Int = \(Index("ow") * p.stride.w - p.padding.left)")
                    if p.kind == .max {
                        w.line("var best = -Float.infinity")
                        w.line("var bestIndex = 0")
                        w.block("for i in 0..<\(p.kernel.h)") { w in
                            w.line("let h: Int = \(Index("h0") + Index("i") * p.dilation.h)")
                            w.line("guard h >= 0 && h < \(H) else { continue }")
                            w.block("for j in 0..<\(p.kernel.w)") { w in
                                w.line("let col: Int = \(Index("w0") + Index("j") * p.dilation.w)")
                                w.line("guard col >= 0 && col < \(W) else { continue }")
                                w.line("let v = plane[\(inputIndex)]")
                                w.line("if v > best || v.isNaN { best = v; bestIndex = \(inputIndex) }")
                            }
                        }
                        w.line("y[\(outputIndex)] = best")
                        if indexed {
                            w.line("indices[\(outputIndex)] = Float(bitPattern: UInt32(bestIndex))")
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
                                w.line("sum += plane[\(inputIndex)]")
                                w.line("valid &+= 1")
                            }
                        }
                        if p.countIncludePad {
                            w.comment("the window clipped to the padded input (PyTorch's divisor)")
                            w.line("let divisor: Int = (min(h0 &+ \(p.kernel.h), \(H + p.padding.bottom)) &- h0) &* (min(w0 &+ \(p.kernel.w), \(W + p.padding.right)) &- w0)")
                        } else {
                            w.line("let divisor: Int = max(valid, 1)")
                        }
                        w.line("y[\(outputIndex)] = sum / Float(divisor)")
                    }
                }
            }
        }
    }

    func lowerGlobalPool(_ kind: Pooling.Kind, input: Shape, into w: inout SwiftWriter) {
        let plane = input.height * input.width
        w.block("for c in 0..<\(input.channels)") { w in
            w.line("let p = x\(plus(Index("c") * plane))")
            if kind == .max {
                w.line("var best = p[0]")
                w.line("for i in 1..<\(literal(max(plane, 2))) where i < \(literal(plane)) && (p[i] > best || p[i].isNaN) { best = p[i] }")
                w.line("y[c] = best")
            } else {
                w.line("y[c] = Self.sum(p, count: \(literal(plane))) / \(literal(Double(plane)))")
            }
        }
    }

    func lowerAdaptivePool(_ size: Pair, input: Shape, into w: inout SwiftWriter) {
        w.comment("PyTorch's windows: rows floor(i·H/oh) ..< ceil((i+1)·H/oh)")
        w.block("for c in 0..<\(input.channels)") { w in
            w.block("for i in 0..<\(size.h)") { w in
                w.line("let h0: Int = \((Index("i") * input.height).dividedBy(size.h)), h1 = \(((Index("i") + 1) * input.height + (size.h - 1)).dividedBy(size.h))")
                w.block("for j in 0..<\(size.w)") { w in
                    w.line("let w0: Int = \((Index("j") * input.width).dividedBy(size.w)), w1 = \(((Index("j") + 1) * input.width + (size.w - 1)).dividedBy(size.w))")
                    w.line("var sum: Float = 0")
                    w.line("for h in h0..<h1 { for col in w0..<w1 { sum += x[\((Index("c") * input.height + Index("h")) * input.width + Index("col"))] } }")
                    w.line("y[\((Index("c") * size.h + Index("i")) * size.w + Index("j"))] = sum / Float((h1 &- h0) &* (w1 &- w0))")
                }
            }
        }
    }

    func lowerMaxUnpool(input: Shape, output out: Shape, into w: inout SwiftWriter) {
        let count = out.elementCount
        let inPlane = input.height * input.width, outPlane = out.height * out.width
        w.line("y.update(repeating: 0, count: \(literal(count)))")
        w.block("for c in 0..<\(out.channels)") { w in
            w.block("for p in 0..<\(literal(inPlane))") { w in
                w.line("let i: Int = \(Index("c") * inPlane + Index("p"))")
                w.line("y[\(Index("c") * outPlane + Index("Int(indices[i].bitPattern)"))] = x[i]")
            }
        }
    }

    /// Global average pool of an NCHWc input (its 1 × 1 output is the same in either layout): eight channels'
    /// sums at a time.
    func lowerNCHWcAveragePool(input: Shape, into w: inout SwiftWriter) {
        let lanes = nchwcLanes
        let plane = input.height * input.width
        w.block("for block in 0..<\(input.channels / lanes)") { w in
            w.line("let source = x + block &* \(literal(plane * lanes))")
            w.line("var sum = SIMD8<Float>()")
            w.block("for pixel in 0..<\(literal(plane))") { w in
                w.line("sum += Self.load8(source + pixel &* \(lanes))")
            }
            w.line("Self.store(sum / SIMD8<Float>(repeating: \(literal(Double(plane)))), to: y + block &* \(lanes))")
        }
    }
}
