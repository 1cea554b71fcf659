// Kernels over NCHWc tensors, (C / 8, H, W, 8): a pixel's eight channels are one vector.

import ConvcIR

extension KernelLowering {
    /// Depthwise conv, NCHWc in and out: each output pixel's vector is the sum over taps of an input pixel's
    /// vector times the tap's eight weights, which stay in registers. Interior columns go four pixels at a time
    /// (the taps of neighbouring pixels share their loads); border columns, whose missing taps the emitter knows,
    /// one at a time; a row above or below the input reads a row of zeros.
    func lowerNCHWcDepthwise(_ c: Convolution, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let lanes = nchwcLanes
        let (H, W, OH, OW) = (input.height, input.width, output.height, output.width)
        let (kh, kw, sh, sw, top, left) = (c.kernel.h, c.kernel.w, c.stride.h, c.stride.w, c.padding.top, c.padding.left)
        let rowFloats = W * lanes
        // Output columns whose taps all fall inside the input.
        let interiorStart = min(OW, (left + sw - 1) / sw)
        let interiorEnd = max(interiorStart, W - kw + left < 0 ? 0 : min(OW, (W - kw + left) / sw + 1))
        let tilePixels = min(4, interiorEnd - interiorStart)
        // Kernel columns some output column reads (a column of taps that only ever meets padding is never
        // loaded), and whether some window row can fall outside the input.
        func tapReadsInput(_ ow: Int, _ j: Int) -> Bool { (0..<W).contains(ow * sw - left + j) }
        let usedColumns = (0..<kw).filter { j in (0..<OW).contains { tapReadsInput($0, j) } }
        let readsZeroRows = top > 0 || (OH - 1) * sh + kh - 1 - top > H - 1
        w.comment("weight: (\(c.filters / lanes), \(kh), \(kw), \(lanes))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        func body(_ w: inout SwiftWriter) {
            w.block("for block in blocks") { w in
                w.line("let k = w\(plus(Index("block") * (kh * kw * lanes)))")
                for i in 0..<kh {
                    for j in usedColumns { w.line("let k\(i)_\(j) = Self.load8(k\(plus(Index((i * kw + j) * lanes))))") }
                }
                w.line("let bias = Self.load8(w\(plus(Index("block") * lanes + weights.biasOffset)))")
                if !usedColumns.isEmpty { w.line("let source = x\(plus(Index("block") * (H * rowFloats)))") }
                w.line("let target = y\(plus(Index("block") * (OH * OW * lanes)))")
                w.block("for oh in 0..<\(OH)") { w in
                    // Input row i of the window, or zeros where it lies in the padding.
                    for i in 0..<kh where !usedColumns.isEmpty {
                        let row = offset([("oh", sh)], plus: i - top)
                        var conditions: [String] = []
                        if i - top < 0 { conditions.append("\(row) >= 0") }
                        if (OH - 1) * sh + i - top > H - 1 { conditions.append("\(row) < \(H)") }
                        let pointer = "source\(plus(Index("oh") * (sh * rowFloats) + (i - top) * rowFloats))"
                        w.line("let r\(i) = \(conditions.isEmpty ? pointer : "\(conditions.joined(separator: " && ")) ? \(pointer) : zero")")
                    }
                    w.line("let out = target\(plus(Index("oh") * (OW * lanes)))")
                    func borderPixel(_ ow: Int, into w: inout SwiftWriter) {
                        let taps = (0..<kh).flatMap { i in (0..<kw).filter { tapReadsInput(ow, $0) }.map { (i, $0) } }
                        w.block("do") { w in
                            w.line("\(taps.isEmpty ? "let" : "var") a = bias")
                            for (i, j) in taps {
                                w.line("Self.multiplyAdd(&a, Self.load8(r\(i)\(plus(Index((ow * sw - left + j) * lanes)))), k\(i)_\(j))")
                            }
                            w.line("Self.store(\(vectorActivation("a")), to: out\(plus(Index(ow * lanes))))")
                        }
                    }
                    for ow in 0..<interiorStart { borderPixel(ow, into: &w) }
                    if tilePixels > 0 {
                        w.block("for start in stride(from: \(interiorStart), to: \(interiorEnd), by: \(tilePixels))") { w in
                            // The last tile shifts back to end at the interior's end: a few pixels are computed twice.
                            w.line("let ow: Int = min(start, \(interiorEnd - tilePixels))")
                            w.line("let column: Int = \(Index("ow") * (sw * lanes) - left * lanes)")
                            for p in 0..<tilePixels { w.line("var a\(p) = bias") }
                            for i in 0..<kh {
                                // Each input pixel the tile's taps read in row i, loaded once.
                                var uses: [Int: [(pixel: Int, tap: Int)]] = [:]
                                for p in 0..<tilePixels {
                                    for j in 0..<kw { uses[p * sw + j, default: []].append((p, j)) }
                                }
                                for position in uses.keys.sorted() {
                                    w.line("let v\(i)_\(position) = Self.load8(r\(i)\(plus(Index("column") + position * lanes)))")
                                    for use in uses[position]! {
                                        w.line("Self.multiplyAdd(&a\(use.pixel), v\(i)_\(position), k\(i)_\(use.tap))")
                                    }
                                }
                            }
                            for p in 0..<tilePixels {
                                w.line("Self.store(\(vectorActivation("a\(p)")), to: out\(plus((Index("ow") + p) * lanes)))")
                            }
                        }
                    }
                    for ow in interiorEnd..<OW { borderPixel(ow, into: &w) }
                }
            }
        }
        w.block("Self.parallel(\(c.filters / lanes), threads: threads)", opening: " { blocks in") { w in
            guard readsZeroRows && !usedColumns.isEmpty else { return body(&w) }
            w.block("withUnsafeTemporaryAllocation(of: Float.self, capacity: \(literal(rowFloats)))", opening: " { zeros in") { w in
                w.line("zeros.baseAddress!.update(repeating: 0, count: \(literal(rowFloats)))")
                w.line("let zero = UnsafePointer(zeros.baseAddress!)")
                body(&w)
            }
        }
    }
}
