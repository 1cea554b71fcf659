// Transposed convs: each input pixel adds weight × value into its output window.

import ConvcIR

extension KernelLowering {
    /// Transposed convolution: each input pixel adds weight × value into its output window.
    func lowerTransposedConvolution(_ c: Convolution, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let inPerGroup = c.inChannels / c.groups, outPerGroup = c.filters / c.groups
        let plane = output.height * output.width, inPlane = input.height * input.width
        let taps = c.kernel.h * c.kernel.w
        w.comment("weight: (\(c.inChannels), \(outPerGroup), \(c.kernel.h), \(c.kernel.w))   bias: w[\(literal(weights.biasOffset))..<\(literal(weights.count))]")
        w.block("for oc in 0..<\(c.filters)") { w in
            w.line("(y\(plus(Index("oc") * plane))).update(repeating: w[\(Index("oc") + weights.biasOffset)], count: \(literal(plane)))")
        }
        w.block("for ic in 0..<\(c.inChannels)") { w in
            w.line("let planeOffset: Int = \(Index("ic") * inPlane)")
            w.line("let plane = x + planeOffset")
            w.line("let group: Int = \(Index("ic").dividedBy(inPerGroup))")
            w.block("for o in 0..<\(outPerGroup)") { w in
                w.line("let outOffset: Int = \((Index("group") * outPerGroup + Index("o")) * plane)")
                w.line("let out = y + outOffset")
                w.line("let kOffset: Int = \((Index("ic") * outPerGroup + Index("o")) * taps)")
                w.line("let k = w + kOffset")
                w.block("for ih in 0..<\(input.height)") { w in
                    w.block("for i in 0..<\(c.kernel.h)") { w in
                        w.line("let oh: Int = \(Index("ih") * c.stride.h - c.padding.top + Index("i") * c.dilation.h)")
                        w.line("guard oh >= 0 && oh < \(output.height) else { continue }")
                        w.block("for iw in 0..<\(input.width)") { w in
                            w.line("let v = plane[\(Index("ih") * input.width + Index("iw"))]")
                            w.block("for j in 0..<\(c.kernel.w)") { w in
                                w.line("let ow: Int = \(Index("iw") * c.stride.w - c.padding.left + Index("j") * c.dilation.w)")
                                w.line("guard ow >= 0 && ow < \(output.width) else { continue }")
                                w.line("out[\(Index("oh") * output.width + Index("ow"))] += k[\(Index("i") * c.kernel.w + Index("j"))] * v")
                            }
                        }
                    }
                }
            }
        }
        applyActivation(base: "y", count: output.elementCount, into: &w)
    }
}
