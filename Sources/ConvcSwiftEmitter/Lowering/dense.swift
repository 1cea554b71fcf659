// Dense layers: four rows of weights at a time.

import ConvcIR

extension KernelLowering {
    func lowerDense(inFeatures: Int, units: Int, into w: inout SwiftWriter) {
        w.comment("weight: (\(units), \(inFeatures))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        // Four rows at a time: four weight streams in flight keep more of the memory bandwidth busy than one (the
        // weights are read once, so a large dense layer is bound by it), and each input load serves all four.
        w.block("Self.parallel(\(literal(units / 4)), threads: threads)", opening: " { quads in") { w in
            w.block("for quad in quads") { w in
                w.line("let u: Int = quad &* 4")
                w.line("let sums = Self.dot4(w\(plus(Index("u") * inFeatures)), stride: \(literal(inFeatures)), x, count: \(literal(inFeatures)))")
                w.block("for r in 0..<4") { w in
                    w.line("y[u &+ r] = sums[r] + w[\(Index("u") + Index("r") + weights.biasOffset)]")
                }
            }
        }
        if units % 4 != 0 {
            w.block("for u in \(literal(units / 4 * 4))..<\(literal(units))") { w in
                w.line("y[u] = Self.dot(w\(plus(Index("u") * inFeatures)), x, count: \(literal(inFeatures))) + w[\(Index("u") + weights.biasOffset)]")
            }
        }
        applyActivation(base: "y", count: units, into: &w)
    }
}
