// Each step's function: its name, which steps share it (equal kernel plans), and its documentation.

import ConvcIR

extension Emitter {
    /// Lets steps with equal kernel plans call one function (ResNet-152 has 36 identical blocks in its third
    /// stage), which keeps big networks quick to compile.
    mutating func shareFunctions() {
        var firstWithPlan: [KernelPlan: Int] = [:]
        for step in plan.steps {
            if let first = firstWithPlan[kernel(step)] {
                sharers[first, default: []].append(step.layer)
                sharedFunctionOf[step.layer] = first
                functionNames[step.layer] = functionNames[first]
            } else {
                firstWithPlan[kernel(step)] = step.layer
            }
        }
    }

    func functionName(_ step: PlannedStep) -> String { functionNames[step.layer]! }

    /// Names every step's function after its layer, with `_2`, `_3`, … where two paths spell the same identifier
    /// (`a.b` and `a_b`).
    mutating func nameFunctions() {
        var used: Set<String> = []
        for step in plan.steps { functionNames[step.layer] = identifier(for: step.layer, unique: &used) }
    }

    /// A Swift identifier for a layer, distinct from those in `used` (`a.b` and `a_b` both spell `a_b`).
    func identifier(for id: Int, suffix extra: String = "", unique used: inout Set<String>) -> String {
        var base = ""
        for scalar in layer(id).name.unicodeScalars {
            base.unicodeScalars.append(
                (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) && scalar.isASCII ? scalar : "_")
        }
        if base.first?.isNumber ?? true || base.allSatisfy({ $0 == "_" }) {
            base = "layer_" + base
        } else if extra.isEmpty, isReservedInEmittedCode(base) {
            base += "_layer"  // `tanh`, `for`, `min`, `pad`: a keyword, or a name the file calls
        }
        base += extra
        var name = base
        var suffix = 1
        while !used.insert(name).inserted {
            suffix += 1
            name = "\(base)_\(suffix)"
        }
        return name
    }

    /// The step's function: what it computes (with the other layers that call it), then its lowered plan.
    func lowerStep(_ step: PlannedStep, into w: inout SwiftWriter) {
        let main = layer(step.layer)
        w.doc(describe(step))
        w.doc("Generated from \(options.sourcePath):\(main.location.line):\(main.location.column).")
        if let others = sharers[step.layer], !others.isEmpty {
            w.doc("Also runs \(others.map { layer($0).name }.joined(separator: ", ")) (the same shapes and fusions).")
        }
        KernelLowering(plan: kernel(step), tiling: tiling).lowerFunction(name: functionName(step), into: &w)
    }

    func describe(_ step: PlannedStep) -> String {
        let main = layer(step.layer)
        var text = "\(main.name): \(main.op.kindName)"
        switch main.op {
        case .conv(let c), .convTranspose(let c):
            text += " \(c.inChannels)→\(c.filters), kernel \(c.kernel), stride \(c.stride), padding \(c.padding)"
            if c.dilation != Pair(1, 1) { text += ", dilation \(c.dilation)" }
            if c.groups > 1 { text += ", groups \(c.groups)" }
        case .dense(let inFeatures, let units, _, _): text += " \(inFeatures)→\(units)"
        case .pool(let p): text += " \(p.kernel), stride \(p.stride), padding \(p.padding)" + (p.ceilMode ? ", ceil mode" : "")
        case .input, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm, .layerNorm, .scale, .activation, .prelu,
            .softmax, .dropout, .flatten, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            break
        }
        if let bn = step.foldedBatchNorm { text += ", + \(layer(bn).name) folded" }
        if let add = step.fusedAdd { text += ", + \(layer(add).name) (the residual) fused" }
        if let act = step.fusedActivation { text += ", + \(layer(act).name) fused" }
        return text + "."
    }
}
