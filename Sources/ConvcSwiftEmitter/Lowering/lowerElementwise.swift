// Lowering of the ops that are not convolutions, dense layers or windowed pools: one function per op.

import ConvcIR

extension Emitter {
    func lowerGlobalPool(_ main: Layer, kind: Pooling.Kind, inputs: [Shape], into w: inout SwiftWriter) {
        let input = inputs[0]
        let plane = input.height * input.width
        w.block("for c in 0..<\(input.channels)") { w in
            w.line("let pOffset: Int = c &* \(literal(plane))")
            w.line("let p = x + pOffset")
            if kind == .max {
                w.line("var best = p[0]")
                w.line("for i in 1..<\(literal(max(plane, 2))) where i < \(literal(plane)) && (p[i] > best || p[i].isNaN) { best = p[i] }")
                w.line("y[c] = best")
            } else {
                w.line("var sum: Float = 0")
                w.line("for i in 0..<\(literal(plane)) { sum += p[i] }")
                w.line("y[c] = sum / \(literal(Double(plane)))")
            }
        }
    }

    func lowerAdaptivePool(_ main: Layer, size: Pair, inputs: [Shape], into w: inout SwiftWriter) {
        let input = inputs[0]
        w.comment("PyTorch's windows: rows floor(i·H/oh) ..< ceil((i+1)·H/oh)")
        w.block("for c in 0..<\(input.channels)") { w in
            w.block("for i in 0..<\(size.h)") { w in
                w.line("let h0: Int = i &* \(input.height) / \(size.h), h1 = ((i &+ 1) &* \(input.height) &+ \(size.h - 1)) / \(size.h)")
                w.block("for j in 0..<\(size.w)") { w in
                    w.line("let w0: Int = j &* \(input.width) / \(size.w), w1 = ((j &+ 1) &* \(input.width) &+ \(size.w - 1)) / \(size.w)")
                    w.line("var sum: Float = 0")
                    w.line("for h in h0..<h1 { for col in w0..<w1 { sum += x[(c &* \(input.height) &+ h) &* \(input.width) &+ col] } }")
                    w.line("y[(c &* \(size.h) &+ i) &* \(size.w) &+ j] = sum / Float((h1 &- h0) &* (w1 &- w0))")
                }
            }
        }
    }

    func lowerMaxUnpool(_ main: Layer, inputs: [Shape], into w: inout SwiftWriter) {
        let out = main.outputShape
        let count = main.outputShape.elementCount
        let input = inputs[0]
        let inPlane = input.height * input.width, outPlane = out.height * out.width
        w.line("y.update(repeating: 0, count: \(literal(count)))")
        w.block("for c in 0..<\(out.channels)") { w in
            w.block("for p in 0..<\(literal(inPlane))") { w in
                w.line("let i: Int = c &* \(literal(inPlane)) &+ p")
                w.line("y[c &* \(literal(outPlane)) &+ Int(indices[i].bitPattern)] = x[i]")
            }
        }
    }

    func lowerBatchNorm(_ main: Layer, step: PlannedStep, into w: inout SwiftWriter) {
        let out = main.outputShape
        let count = main.outputShape.elementCount
        let slot = slots[step.layer]!
        let plane = count / out.channels
        w.comment("scale: w[0..<\(out.channels)]   shift: w[\(out.channels)..<\(2 * out.channels)]")
        w.block("for c in 0..<\(out.channels)") { w in
            w.line("let s = w[c], t = w[\(slot.bias - slot.weight) &+ c]")
            w.block("for i in 0..<\(literal(plane))") { w in
                w.line("let v = x[c &* \(literal(plane)) &+ i] * s + t")
                w.line("y[c &* \(literal(plane)) &+ i] = \(activationExpression(step) ?? "v")")
            }
        }
    }

    func lowerLocalResponseNorm(_ main: Layer, size: Int, alpha: Double, beta: Double, k: Double, inputs: [Shape], into w: inout SwiftWriter) {
        let count = main.outputShape.elementCount
        let input = inputs[0]
        let channels = input.channels, plane = count / channels
        w.comment("PyTorch: b_c = a_c / (k + α/n · Σ a²)^β over channels c − n/2 … c + (n−1)/2")
        w.block("for c in 0..<\(channels)") { w in
            w.line("let lo: Int = max(0, c &- \(size / 2)), hi: Int = min(\(channels - 1), c &+ \((size - 1) / 2))")
            w.block("for p in 0..<\(literal(plane))") { w in
                w.line("var sum: Float = 0")
                w.line("for o in lo...hi { let v = x[o &* \(literal(plane)) &+ p]; sum += v * v }")
                w.line("y[c &* \(literal(plane)) &+ p] = x[c &* \(literal(plane)) &+ p] / pow(\(literal(k)) + \(literal(alpha / Double(size))) * sum, \(literal(beta)))")
            }
        }
    }

    func lowerActivation(_ main: Layer, step: PlannedStep, into w: inout SwiftWriter) {
        let count = main.outputShape.elementCount
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = x[i]")
            w.line("y[i] = \(activationExpression(step)!)")
        }
    }

    func lowerPReLU(_ main: Layer, into w: inout SwiftWriter) {
        let out = main.outputShape
        let count = main.outputShape.elementCount
        let plane = count / out.channels
        w.block("for c in 0..<\(out.channels)") { w in
            w.line("let a = w[c]")
            w.block("for i in 0..<\(literal(plane))") { w in
                w.line("let v = x[c &* \(literal(plane)) &+ i]")
                w.line("y[c &* \(literal(plane)) &+ i] = v >= 0 ? v : a * v")
            }
        }
    }

    func lowerSoftmax(_ main: Layer, inputs: [Shape], into w: inout SwiftWriter) {
        let count = main.outputShape.elementCount
        let input = inputs[0]
        let channels = input.channels, plane = count / channels
        w.block("for p in 0..<\(literal(plane))") { w in
            w.line("var largest = -Float.infinity")
            w.line("for c in 0..<\(channels) { largest = max(largest, x[c &* \(literal(plane)) &+ p]) }")
            w.line("var sum: Float = 0")
            w.line("for c in 0..<\(channels) { let e = exp(x[c &* \(literal(plane)) &+ p] - largest); y[c &* \(literal(plane)) &+ p] = e; sum += e }")
            w.line("for c in 0..<\(channels) { y[c &* \(literal(plane)) &+ p] /= sum }")
        }
    }

    func lowerAdd(_ main: Layer, inputs: [Shape], step: PlannedStep, into w: inout SwiftWriter) {
        let count = main.outputShape.elementCount
        let terms = (0..<inputs.count).map { $0 == 0 ? "x[i]" : "x\($0)[i]" }.joined(separator: " + ")
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = \(terms)")
            w.line("y[i] = \(activationExpression(step) ?? "v")")
        }
    }

    func lowerConcat(_ main: Layer, inputs: [Shape], into w: inout SwiftWriter) {
        var offset = 0
        for (index, shape) in inputs.enumerated() {
            w.line("(y + \(literal(offset))).update(from: \(index == 0 ? "x" : "x\(index)"), count: \(literal(shape.elementCount)))")
            offset += shape.elementCount
        }
    }

    func lowerChannelPad(_ main: Layer, inputs: [Shape], into w: inout SwiftWriter) {
        let count = main.outputShape.elementCount
        let input = inputs[0]
        w.line("y.update(from: x, count: \(literal(input.elementCount)))")
        w.line("(y + \(literal(input.elementCount))).update(repeating: 0, count: \(literal(count - input.elementCount)))")
    }

}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
