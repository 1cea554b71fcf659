// Normalisations, activations and the ops that combine or copy tensors.

import ConvcIR

extension KernelLowering {
    func lowerBatchNorm(_ out: Shape, into w: inout SwiftWriter) {
        let count = out.elementCount
        let plane = count / out.channels
        w.comment("scale: w[0..<\(out.channels)]   shift: w[\(out.channels)..<\(2 * out.channels)]")
        w.block("for c in 0..<\(out.channels)") { w in
            w.line("let s = w[c], t = w[\(Index("c") + weights.biasOffset)]")
            w.block("for i in 0..<\(literal(plane))") { w in
                w.line("let v = x[\(Index("c") * plane + Index("i"))] * s + t")
                w.line("y[\(Index("c") * plane + Index("i"))] = \(activationExpression ?? "v")")
            }
        }
    }

    /// Two passes over the channels per pixel (mean, then biased variance), then the normalised values with weight
    /// w[c] and bias w[C + c]. No activation is fused into a layer norm (planExecution).
    func lowerLayerNorm(epsilon: Double, output: Shape, into w: inout SwiftWriter) {
        let channels = output.channels, plane = output.elementCount / channels
        w.comment("weight: w[0..<\(channels)]   bias: w[\(channels)..<\(2 * channels)]")
        w.line("Self.layerNorm(x, y, w, channels: \(channels), plane: \(literal(plane)), epsilon: \(floatLiteral(Float(epsilon))))")
    }

    func lowerLocalResponseNorm(size: Int, alpha: Double, beta: Double, k: Double, input: Shape, into w: inout SwiftWriter) {
        let count = input.elementCount
        let channels = input.channels, plane = count / channels
        w.comment("PyTorch: b_c = a_c / (k + α/n · Σ a²)^β over channels c − n/2 … c + (n−1)/2")
        w.block("for c in 0..<\(channels)") { w in
            w.line("let lo: Int = max(0, \(Index("c") - size / 2)), hi: Int = min(\(channels - 1), \(Index("c") + (size - 1) / 2))")
            w.block("for p in 0..<\(literal(plane))") { w in
                w.line("var sum: Float = 0")
                w.line("for o in lo...hi { let v = x[\(Index("o") * plane + Index("p"))]; sum += v * v }")
                w.line("y[\(Index("c") * plane + Index("p"))] = x[\(Index("c") * plane + Index("p"))] / pow(\(literal(k)) + \(literal(alpha / Double(size))) * sum, \(literal(beta)))")
            }
        }
    }

    func lowerActivation(_ output: Shape, into w: inout SwiftWriter) {
        let count = output.elementCount
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = x[i]")
            w.line("y[i] = \(activationExpression!)")
        }
    }

    func lowerPReLU(_ out: Shape, into w: inout SwiftWriter) {
        let count = out.elementCount
        let plane = count / out.channels
        w.block("for c in 0..<\(out.channels)") { w in
            w.line("let a = w[c]")
            w.block("for i in 0..<\(literal(plane))") { w in
                w.line("let v = x[\(Index("c") * plane + Index("i"))]")
                w.line("y[\(Index("c") * plane + Index("i"))] = v >= 0 ? v : a * v")
            }
        }
    }

    func lowerSoftmax(input: Shape, into w: inout SwiftWriter) {
        let count = input.elementCount
        let channels = input.channels, plane = count / channels
        w.block("for p in 0..<\(literal(plane))") { w in
            w.line("var largest = -Float.infinity")
            w.line("for c in 0..<\(channels) { largest = max(largest, x[\(Index("c") * plane + Index("p"))]) }")
            w.line("var sum: Float = 0")
            w.line("for c in 0..<\(channels) { let e = exp(x[\(Index("c") * plane + Index("p"))] - largest); y[\(Index("c") * plane + Index("p"))] = e; sum += e }")
            w.line("for c in 0..<\(channels) { y[\(Index("c") * plane + Index("p"))] /= sum }")
        }
    }

    func lowerAdd(_ output: Shape, operands: Int, into w: inout SwiftWriter) {
        let count = output.elementCount
        let terms = (0..<operands).map { $0 == 0 ? "x[i]" : "x\($0)[i]" }.joined(separator: " + ")
        w.block("for i in 0..<\(literal(count))") { w in
            w.line("let v = \(terms)")
            w.line("y[i] = \(activationExpression ?? "v")")
        }
    }

    /// Inputs of the output's shape are read element by element; a C×1×1 input is read once per channel.
    func lowerMultiply(_ inputs: [Shape], output: Shape, into w: inout SwiftWriter) {
        let count = output.elementCount
        let operand = { (index: Int) in index == 0 ? "x" : "x\(index)" }
        if plan.layout.any {
            lowerGatedMultiply(gates: inputs.count - 1, output: output, into: &w)
            return
        }
        let broadcast = inputs.map { $0.elementCount != count }
        guard broadcast.contains(true) else {
            w.block("for i in 0..<\(literal(count))") { w in
                w.line("y[i] = " + inputs.indices.map { "\(operand($0))[i]" }.joined(separator: " * "))
            }
            return
        }
        let plane = count / output.channels
        let scales = inputs.indices.filter { broadcast[$0] }
        w.block("for c in 0..<\(output.channels)") { w in
            w.line("let s = " + scales.map { "\(operand($0))[c]" }.joined(separator: " * "))
            let maps = inputs.indices.filter { !broadcast[$0] }
            let index = Index("c") * plane + Index("i")
            w.block("for i in 0..<\(literal(plane))") { w in
                w.line("y[\(index)] = " + maps.map { "\(operand($0))[\(index)]" }.joined(separator: " * ") + " * s")
            }
        }
    }

    /// A map gated per channel where either side is NCHWc ((C / 8, H, W, 8)): eight channels' gates as one vector
    /// when both are, a channel at a time otherwise.
    func lowerGatedMultiply(gates: Int, output: Shape, into w: inout SwiftWriter) {
        let lanes = nchwcLanes, plane = output.height * output.width
        let gate = { (lane: String) in (1...gates).map { "x\($0)[\(lane)]" }.joined(separator: " * ") }
        if plan.layout.input && plan.layout.output {
            w.block("for block in 0..<\(output.channels / lanes)") { w in
                w.line("let s = SIMD8<Float>(" + (0..<lanes).map { gate($0 == 0 ? "block &* 8" : "block &* 8 &+ \($0)") }.joined(separator: ", ") + ")")
                w.block("for p in 0..<\(literal(plane))") { w in
                    let at = "(block &* \(literal(plane)) &+ p) &* 8"
                    w.line("Self.store(Self.load8(x + \(at)) * s, to: y + \(at))")
                }
            }
            return
        }
        let nchwc = { (c: String, p: String) in "(\(c) / 8 &* \(literal(plane)) &+ \(p)) &* 8 &+ \(c) % 8" }
        let nchw = { (c: String, p: String) in "\(c) &* \(literal(plane)) &+ \(p)" }
        w.block("for c in 0..<\(output.channels)") { w in
            w.line("let s = " + gate("c"))
            w.block("for p in 0..<\(literal(plane))") { w in
                let from = plan.layout.input ? nchwc("c", "p") : nchw("c", "p")
                let to = plan.layout.output ? nchwc("c", "p") : nchw("c", "p")
                w.line("y[\(to)] = x[\(from)] * s")
            }
        }
    }

    func lowerConcat(_ inputs: [Shape], into w: inout SwiftWriter) {
        var offset = 0
        for (index, shape) in inputs.enumerated() {
            w.line("(y\(plus(Index(offset)))).update(from: \(index == 0 ? "x" : "x\(index)"), count: \(literal(shape.elementCount)))")
            offset += shape.elementCount
        }
    }

    func lowerChannelPad(input: Shape, output: Shape, into w: inout SwiftWriter) {
        let count = output.elementCount
        w.line("y.update(from: x, count: \(literal(input.elementCount)))")
        w.line("(y + \(literal(input.elementCount))).update(repeating: 0, count: \(literal(count - input.elementCount)))")
    }

    /// Output channel c · groups + g is input channel g · (C / groups) + c: one plane copy each.
    func lowerChannelShuffle(groups: Int, input: Shape, into w: inout SwiftWriter) {
        let plane = input.height * input.width, perGroup = input.channels / groups
        w.block("for g in 0..<\(groups)") { w in
            w.block("for c in 0..<\(perGroup)") { w in
                let target = (Index("c") * groups + Index("g")) * plane, source = (Index("g") * perGroup + Index("c")) * plane
                w.line("(y\(plus(target))).update(from: x\(plus(source)), count: \(literal(plane)))")
            }
        }
    }
}
