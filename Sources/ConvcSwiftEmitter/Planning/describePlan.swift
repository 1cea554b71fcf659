// The planning pass's decisions as text (`convc emit --plan`): one row per step, what its function computes and
// with which tiles, bands and copies, without reading the Swift.

import ConvcDiagnostics
import ConvcIR

/// A table of every step's kernel plan for `target`.
public func describePlan(_ model: Model, target: EmitTarget) -> String {
    let emission = planEmission(model, target: target)
    let tiling = target.tiling
    var rows: [[String]] = [["step", "kernel", "layout", "fuses", "scratch"]]
    var seen: [KernelPlan: String] = [:]
    for step in emission.execution.steps {
        let plan = emission.kernel(step)
        let name = model.layers[step.layer].name
        let kernel = seen[plan].map { "as \($0)" } ?? plan.kernel.summary(tiling: tiling)
        if seen[plan] == nil { seen[plan] = name }
        let fuses = [step.foldedBatchNorm == nil ? nil : "batch norm", plan.epilogue.residual ? "residual" : nil,
                     plan.epilogue.activation.map { "\($0)" }].compactMap { $0 }
        rows.append([name, kernel, plan.layout.summary, fuses.joined(separator: ", "), plan.scratchFloats == 0 ? "" : grouped(plan.scratchFloats)])
    }
    let registers = target == .avx2 ? "16 registers of 8 floats" : "32 registers of 16 floats"
    var text = "\(model.name) for \(target.rawValue) (\(registers)): \(emission.execution.steps.count) steps, "
        + "\(Set(emission.kernels.values).count) functions, \(grouped(emission.scratchFloats)) floats of scratch\n"
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        let fields = row.enumerated().map { column, field in
            column == row.count - 1 ? field : field + String(repeating: " ", count: widths[column] - field.count)
        }
        var line = fields.joined(separator: "  ")
        while line.last == " " { line.removeLast() }
        text += line + "\n"
    }
    return text
}

extension Kernel {
    func summary(tiling: Tiling) -> String {
        switch self {
        case .convolution(let c, let algorithm): algorithm.summary(c, tiling: tiling)
        case .transposedConvolution: "transposed conv, input pixel by pixel"
        case .dense: "dense, four rows at a time"
        case .vectorMaxPool(_, let columns): "max pool on vectors of 16 over rows of \(columns)"
        case .pool(let p): "\(p.kind.rawValue) pool pixel by pixel"
        case .globalPool(let kind): "global \(kind.rawValue) pool"
        case .nchwcAveragePool: "global average pool of NCHWc, 8 channels at a time"
        case .adaptiveAveragePool(let size): "adaptive average pool to \(size)"
        case .maxUnpool: "max unpool"
        case .batchNorm: "batch norm (scale and shift)"
        case .localResponseNorm: "local response norm"
        case .layerNorm: "layer norm over channels (pixels as vectors)"
        case .activation: "activation"
        case .prelu: "PReLU"
        case .softmax: "softmax"
        case .add: "add"
        case .multiply: "multiply (a C×1×1 input per channel)"
        case .concat: "concat (copies)"
        case .channelPad: "channel pad"
        case .channelShuffle(let groups): "channel shuffle of \(groups) groups (plane copies)"
        case .channelSlice(let start): "channel slice from \(start) (one copy)"
        case .upsample(let u): u.mode == .bilinear ? "bilinear upsample (rows blended, then columns)" : "nearest upsample"
        case .copy: "copy"
        }
    }
}

extension ConvolutionAlgorithm {
    func summary(_ c: Convolution, tiling: Tiling) -> String {
        func planes(_ padded: PaddedPlanes) -> String { "\(padded.rows)×\(padded.columns)" }
        switch self {
        case .depthwise(let plan):
            return "depthwise, each channel padded to \(planes(plan.padded)) on the stack"
                + (plan.phased ? " in 4 phase planes" : "") + (plan.planes == 2 ? ", 2 planes in turn" : "")
                + ", \(plan.rows) rows at a time"
        case .nchwcDepthwise: return "depthwise on NCHWc, a pixel's 8 channels per vector"
        case .channelVectors(let plan):
            return "channel vectors: 32 channels × \(plan.pixels) pixels, bands of \(plan.bandRows) rows"
                + (plan.padded.map { ", padded copy \(planes($0))" } ?? "") + (plan.flattened ? ", planes as one row" : "")
        case .pixelGroups(let plan):
            let source = plan.source.subsampled ? ", subsampled copy \(plan.source.rows)×\(plan.source.columns)"
                : plan.source.copied ? ", padded copy \(plan.source.rows)×\(plan.source.columns)" : ""
            return "pixel groups: \(plan.tile.channels) channels × \(plan.tile.pixels) pixels"
                + (plan.chunk.map { ", input channels in chunks of \($0)" } ?? "") + source
                + ", \(plan.bandGroups) groups per band" + (plan.residualPass ? ", residual in a vector pass" : "")
        case .winograd(let plan):
            return "Winograd F(2×2, 3×3): \(plan.tileRows)×\(plan.tileColumns) tiles in bands of \(plan.bandRows) tile rows"
        case .pointwise(let plan):
            return "pointwise: \(tiling.filterBlock) filters × \(tiling.pixelTile) pixels, bands of \(plan.band) pixels"
        case .flat(let plan):
            return "flat: \(tiling.filterBlock) filters × \(tiling.pixelTile) positions of "
                + (plan.phases == 1 ? "a padded \(plan.rows)×\(plan.columns) plane" : "4 phase planes of \(plan.rows)×\(plan.columns)")
                + ", bands of \(plan.band)"
        case .blocked(let plan):
            return "blocked: \(tiling.filterBlock) filters × 16 pixels of a row"
                + (plan.padded.map { ", padded copy \(planes($0))" } ?? ", its own planes")
        }
    }
}

extension NCHWcSides {
    var summary: String { "\(input ? "NCHWc" : "NCHW") → \(output ? "NCHWc" : "NCHW")" }
}
