// Helpers: compile a spec, make weights, run, and naive reference kernels written straight from the definitions.

import ConvcFrontend
import ConvcIR
import ConvcInterpreter
import ConvcTensorIO
import Foundation
import Testing

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func model(_ text: String) throws -> Model {
    let (model, engine) = compileSpec(text, file: "test.yaml")
    #expect(!engine.hasErrors, "\(engine.diagnostics.map(\.formatted))")
    return try #require(model)
}

func weights(_ model: Model, seed: UInt64 = 1, randomStatistics: Bool = true) throws -> (WeightSet, [String: [Float]]) {
    var tensors: [String: StoredTensor] = [:]
    for (name, tensor) in initialWeights(for: model, seed: seed, randomStatistics: randomStatistics) {
        tensors[name] = tensor
    }
    return (try WeightSet(model: model, tensors: tensors), tensors.mapValues(\.values))
}

/// Largest |a − b| over the largest |b| (or 1, if smaller).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0, scale: Float = 1
    for i in a.indices {
        worst = max(worst, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return worst / scale
}

/// PyTorch Conv2d by definition: six loops, zero padding. x: (N, C, H, W); w: (F, C/g, kh, kw).
func naiveConvolution(
    _ x: [Float], n: Int, c: Int, h: Int, w: Int, weight: [Float], bias: [Float]?, filters: Int, kernel: (Int, Int),
    stride: (Int, Int), padding: (top: Int, left: Int), dilation: (Int, Int), groups: Int, out: (Int, Int)
) -> [Float] {
    var y = [Float](repeating: 0, count: n * filters * out.0 * out.1)
    let cg = c / groups, fg = filters / groups
    for b in 0..<n {
        for f in 0..<filters {
            let g = f / fg
            for oh in 0..<out.0 {
                for ow in 0..<out.1 {
                    var sum = bias?[f] ?? 0
                    for ci in 0..<cg {
                        for i in 0..<kernel.0 {
                            for j in 0..<kernel.1 {
                                let ih = oh * stride.0 - padding.top + i * dilation.0
                                let iw = ow * stride.1 - padding.left + j * dilation.1
                                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                sum += x[((b * c + g * cg + ci) * h + ih) * w + iw]
                                    * weight[((f * cg + ci) * kernel.0 + i) * kernel.1 + j]
                            }
                        }
                    }
                    y[((b * filters + f) * out.0 + oh) * out.1 + ow] = sum
                }
            }
        }
    }
    return y
}
