// Executes a step for a batch: the inputs are whole-batch buffers, the result is the output buffer.

import ConvcIR
import Foundation

struct Step {
    enum Kind {
        case conv(ConvPlan)
        case depthwise(DepthwisePlan)
        case convTranspose(ConvTransposePlan)
        case dense(DensePlan)
        /// Batch norm at inference: y = x·scale[c] + shift[c], then an activation.
        case affine(scale: [Float], shift: [Float], activation: Epilogue.Activation)
        case prelu([Float])
        /// Over each pixel's channels: (x − mean) / √(variance + ε) · weight[c] + bias[c].
        case layerNorm(weight: [Float], bias: [Float], epsilon: Float)
        /// Every other op, run by the reference kernels below.
        case generic(ReferenceOp, inputShapes: [Shape])
    }

    /// The ops the reference kernels run: every op without a kind of its own above and with a buffer of its own.
    enum ReferenceOp {
        case pool(Pooling)
        case maxUnpool(indicesFrom: Int)
        case globalPool(Pooling.Kind)
        case adaptiveAvgPool(output: Pair)
        case localResponseNorm(size: Int, alpha: Double, beta: Double, k: Double)
        case activation(Activation)
        case softmax
        case add
        case multiply
        case concat
        case channelPad
        case channelShuffle(groups: Int)
        case upsample(Upsampling)
        case channelSlice(start: Int)
    }

    var inputs: [Int]
    var output: Int
    var outputShape: Shape
    var kind: Kind

    func execute(
        buffers: [[Float]?], indices: inout [Int: [Int32]], batch: Int, threads: Int, scratch: inout [Float]
    ) -> [Float] {
        let outCount = outputShape.elementCount
        var result = [Float](repeating: 0, count: batch * outCount)
        let x = buffers[inputs[0]]!
        let inCount = x.count / batch
        x.withUnsafeBufferPointer { xb in
            result.withUnsafeMutableBufferPointer { yb in
                scratch.withUnsafeMutableBufferPointer { sb in
                    for n in 0..<batch {
                        let xp = xb.baseAddress! + n * inCount
                        let yp = yb.baseAddress! + n * outCount
                        switch kind {
                        case .conv(let plan): plan.run(xp, yp, threads: threads)
                        case .depthwise(let plan): plan.run(xp, yp, threads: threads)
                        case .convTranspose(let plan): plan.run(xp, yp, scratch: sb.baseAddress ?? yp, threads: threads)
                        case .dense(let plan): plan.run(xp, yp, threads: threads)
                        case .affine(let scale, let shift, let activation):
                            let channels = scale.count, plane = outCount / channels
                            for c in 0..<channels {
                                let s = scale[c], t = shift[c]
                                for i in 0..<plane { yp[c * plane + i] = xp[c * plane + i] * s + t }
                                if activation != .none {
                                    applyEpilogue(yp + c * plane, count: plane, bias: 0, activation: activation)
                                }
                            }
                        case .prelu(let slopes):
                            let channels = slopes.count, plane = outCount / channels
                            for c in 0..<channels {
                                let a = slopes[c]
                                for i in 0..<plane {
                                    let v = xp[c * plane + i]
                                    yp[c * plane + i] = v >= 0 ? v : a * v
                                }
                            }
                        case .layerNorm(let weight, let bias, let epsilon):
                            runLayerNorm(xp, yp, channels: weight.count, plane: outCount / weight.count, weight: weight, bias: bias, epsilon: epsilon)
                        case .generic(let op, let shapes):
                            let others = inputs.dropFirst().map { buffers[$0]! }
                            runGeneric(
                                op, shapes: shapes, x: xp, others: others, sample: n, batch: batch, y: yp,
                                indices: &indices)
                        }
                    }
                }
            }
        }
        return result
    }

    /// Reference kernels for the ops that are not matrix multiplies.
    func runGeneric(
        _ op: ReferenceOp, shapes: [Shape], x: UnsafePointer<Float>, others: [[Float]], sample n: Int, batch: Int,
        y: UnsafeMutablePointer<Float>, indices: inout [Int: [Int32]]
    ) {
        let inShape = shapes[0], out = outputShape
        switch op {
        case .pool(let pool):
            if pool.returnsIndices {
                var recorded = indices[output] ?? [Int32](repeating: 0, count: batch * out.elementCount)
                recorded.withUnsafeMutableBufferPointer {
                    runPool(pool, x: x, inShape: inShape, y: y, outShape: out, indices: $0.baseAddress! + n * out.elementCount)
                }
                indices[output] = recorded
            } else {
                runPool(pool, x: x, inShape: inShape, y: y, outShape: out, indices: nil)
            }
        case .maxUnpool(let pool):
            let recorded = indices[pool]!
            let inPlane = inShape.height * inShape.width, outPlane = out.height * out.width
            for c in 0..<out.channels {
                for p in 0..<inPlane {
                    let index = Int(recorded[n * inShape.elementCount + c * inPlane + p])
                    y[c * outPlane + index] = x[c * inPlane + p]
                }
            }
        case .globalPool(let kind):
            let plane = inShape.height * inShape.width
            for c in 0..<inShape.channels {
                let values = UnsafeBufferPointer(start: x + c * plane, count: plane)
                y[c] = kind == .max ? values.max()! : values.reduce(0, +) / Float(plane)
            }
        case .adaptiveAvgPool(let size):
            // PyTorch: window rows floor(i·H/oh) ..< ceil((i+1)·H/oh).
            for c in 0..<inShape.channels {
                for i in 0..<size.h {
                    let h0 = i * inShape.height / size.h, h1 = ((i + 1) * inShape.height + size.h - 1) / size.h
                    for j in 0..<size.w {
                        let w0 = j * inShape.width / size.w, w1 = ((j + 1) * inShape.width + size.w - 1) / size.w
                        var sum: Float = 0
                        for h in h0..<h1 {
                            for w in w0..<w1 { sum += x[(c * inShape.height + h) * inShape.width + w] }
                        }
                        y[(c * size.h + i) * size.w + j] = sum / Float((h1 - h0) * (w1 - w0))
                    }
                }
            }
        case .localResponseNorm(let size, let alpha, let beta, let k):
            // PyTorch: b_c = a_c / (k + α/n · Σ_{c' = c − n/2}^{c + (n−1)/2} a_c'²)^β
            let channels = inShape.channels, plane = inShape.elementCount / channels
            for c in 0..<channels {
                let lo = max(0, c - size / 2), hi = min(channels - 1, c + (size - 1) / 2)
                for p in 0..<plane {
                    var sum: Float = 0
                    for other in lo...hi {
                        let v = x[other * plane + p]
                        sum += v * v
                    }
                    y[c * plane + p] = x[c * plane + p] / powf(Float(k) + Float(alpha) / Float(size) * sum, Float(beta))
                }
            }
        case .activation(let activation):
            y.update(from: x, count: out.elementCount)
            applyEpilogue(y, count: out.elementCount, bias: 0, activation: epilogueActivation(activation))
        case .softmax:
            let channels = inShape.channels, plane = inShape.elementCount / channels
            for p in 0..<plane {
                var largest = -Float.infinity
                for c in 0..<channels { largest = max(largest, x[c * plane + p]) }
                var sum: Float = 0
                for c in 0..<channels {
                    let e = expf(x[c * plane + p] - largest)
                    y[c * plane + p] = e
                    sum += e
                }
                for c in 0..<channels { y[c * plane + p] /= sum }
            }
        case .add:
            let count = out.elementCount
            y.update(from: x, count: count)
            for other in others {
                other.withUnsafeBufferPointer { o in
                    let base = o.baseAddress! + n * count
                    for i in 0..<count { y[i] += base[i] }
                }
            }
        case .multiply:
            // Each input is the output's shape or its C×1×1, broadcast over each channel's plane.
            let count = out.elementCount, plane = count / out.channels
            if shapes[0].elementCount == count {
                y.update(from: x, count: count)
            } else {
                for c in 0..<out.channels { (y + c * plane).update(repeating: x[c], count: plane) }
            }
            for (index, other) in others.enumerated() {
                let size = shapes[index + 1].elementCount
                other.withUnsafeBufferPointer { o in
                    let base = o.baseAddress! + n * size
                    if size == count {
                        for i in 0..<count { y[i] *= base[i] }
                    } else {
                        for c in 0..<out.channels {
                            for i in 0..<plane { y[c * plane + i] *= base[c] }
                        }
                    }
                }
            }
        case .concat:
            var offset = 0
            let first = shapes[0].elementCount
            y.update(from: x, count: first)
            offset = first
            for (index, other) in others.enumerated() {
                let count = shapes[index + 1].elementCount
                other.withUnsafeBufferPointer { o in (y + offset).update(from: o.baseAddress! + n * count, count: count) }
                offset += count
            }
        case .channelPad:
            y.update(from: x, count: inShape.elementCount)
        case .channelShuffle(let groups):
            // Output channel c·groups + g is input channel g·(C/groups) + c (PyTorch's view–transpose–reshape).
            let plane = inShape.height * inShape.width, perGroup = inShape.channels / groups
            for g in 0..<groups {
                for c in 0..<perGroup {
                    (y + (c * groups + g) * plane).update(from: x + (g * perGroup + c) * plane, count: plane)
                }
            }
        case .upsample(let upsampling):
            runUpsample(upsampling, x: x, inShape: inShape, y: y, outShape: out)
        case .channelSlice(let start):
            y.update(from: x + start * out.height * out.width, count: out.elementCount)
        }
    }
}

/// Layer norm of one sample over channels, pixel by pixel: the pixels of a plane are contiguous, so the mean and
/// the variance (two passes, biased) accumulate a channel plane at a time.
func runLayerNorm(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels: Int, plane: Int, weight: [Float], bias: [Float],
    epsilon: Float
) {
    var mean = [Float](repeating: 0, count: plane), variance = [Float](repeating: 0, count: plane)
    for c in 0..<channels {
        for i in 0..<plane { mean[i] += x[c * plane + i] }
    }
    for i in 0..<plane { mean[i] /= Float(channels) }
    for c in 0..<channels {
        for i in 0..<plane {
            let d = x[c * plane + i] - mean[i]
            variance[i] += d * d
        }
    }
    for i in 0..<plane { variance[i] = 1 / (variance[i] / Float(channels) + epsilon).squareRoot() }
    for c in 0..<channels {
        for i in 0..<plane { y[c * plane + i] = (x[c * plane + i] - mean[i]) * variance[i] * weight[c] + bias[c] }
    }
}

/// Upsampling of one sample, reading where `Upsampling`'s coordinate rules (PyTorch's) say.
func runUpsample(_ upsampling: Upsampling, x: UnsafePointer<Float>, inShape: Shape, y: UnsafeMutablePointer<Float>, outShape: Shape) {
    let H = inShape.height, W = inShape.width, OH = outShape.height, OW = outShape.width
    switch upsampling.mode {
    case .nearest:
        let rows = upsampling.nearestSources(input: H, output: OH), columns = upsampling.nearestSources(input: W, output: OW)
        for c in 0..<inShape.channels {
            for oh in 0..<OH {
                let source = x + (c * H + rows[oh]) * W, row = y + (c * OH + oh) * OW
                for ow in 0..<OW { row[ow] = source[columns[ow]] }
            }
        }
    case .bilinear:
        // Rows first (a blend of two input rows, contiguous), then each output pixel from two of that row's values.
        let rows = upsampling.linearTaps(input: H, output: OH), columns = upsampling.linearTaps(input: W, output: OW)
        var blended = [Float](repeating: 0, count: W)
        for c in 0..<inShape.channels {
            for oh in 0..<OH {
                let tap = rows[oh]
                let above = x + (c * H + tap.lower) * W, below = x + (c * H + tap.upper) * W
                for w in 0..<W { blended[w] = above[w] + tap.weight * (below[w] - above[w]) }
                let row = y + (c * OH + oh) * OW
                for ow in 0..<OW {
                    let column = columns[ow]
                    row[ow] = blended[column.lower] + column.weight * (blended[column.upper] - blended[column.lower])
                }
            }
        }
    }
}

/// Max or average pooling of one sample (PyTorch MaxPool2d / AvgPool2d, ceil mode and count_include_pad).
/// Max-pool indices are flat positions h·W + w within each input plane, as PyTorch returns them.
/// Window bounds are computed once per output row and column, so the inner loops carry no bounds checks.
func runPool(
    _ pool: Pooling, x: UnsafePointer<Float>, inShape: Shape, y: UnsafeMutablePointer<Float>, outShape: Shape,
    indices: UnsafeMutablePointer<Int32>?
) {
    let H = inShape.height, W = inShape.width, OH = outShape.height, OW = outShape.width
    let kh = pool.kernel.h, kw = pool.kernel.w, dh = pool.dilation.h, dw = pool.dilation.w
    /// Taps t of a window starting at `start` (step `d`) with 0 ≤ start + t·d < size.
    func taps(_ start: Int, _ count: Int, _ d: Int, _ size: Int) -> Range<Int> {
        let first = start >= 0 ? 0 : (-start + d - 1) / d
        let end = max(first, min(count, (size - start + d - 1) / d))
        return first..<end
    }
    let rows = (0..<OH).map { taps($0 * pool.stride.h - pool.padding.top, kh, dh, H) }
    let columns = (0..<OW).map { taps($0 * pool.stride.w - pool.padding.left, kw, dw, W) }
    let isMax = pool.kind == .max
    for c in 0..<inShape.channels {
        let plane = x + c * H * W
        for oh in 0..<OH {
            let h0 = oh * pool.stride.h - pool.padding.top
            let rowTaps = rows[oh]
            let out = y + (c * OH + oh) * OW
            if isMax && indices == nil {
                // Tap by tap over the whole output row: a select per element, which vectorises, instead of a
                // branch per element, which random data mispredicts half the time.
                out.update(repeating: -.infinity, count: OW)
                for i in rowTaps {
                    let row = plane + (h0 + i * dh) * W
                    for j in 0..<kw {
                        // Output columns whose tap j lands inside the row.
                        var first = 0, end = OW
                        while first < end && !columns[first].contains(j) { first += 1 }
                        while end > first && !columns[end - 1].contains(j) { end -= 1 }
                        let offset = j * dw - pool.padding.left
                        let stride = pool.stride.w
                        for ow in first..<end {
                            let v = row[ow * stride + offset]
                            let best = out[ow]
                            out[ow] = (v > best || v != v) ? v : best
                        }
                    }
                }
                continue
            }
            for ow in 0..<OW {
                let w0 = ow * pool.stride.w - pool.padding.left
                let columnTaps = columns[ow]
                if isMax {
                    var best = -Float.infinity
                    var bestIndex = 0
                    for i in rowTaps {
                        let row = (h0 + i * dh) * W
                        for j in columnTaps {
                            let index = row + w0 + j * dw
                            let v = plane[index]
                            if v > best || v.isNaN {
                                best = v
                                bestIndex = index
                            }
                        }
                    }
                    out[ow] = best
                    indices?[(c * OH + oh) * OW + ow] = Int32(bestIndex)
                } else {
                    var sum: Float = 0
                    for i in rowTaps {
                        let row = plane + (h0 + i * dh) * W + w0
                        for j in columnTaps { sum += row[j * dw] }
                    }
                    // count_include_pad counts padding inside the padded input, never the part of a ceil-mode
                    // window past it (PyTorch's rule).
                    let divisor: Int
                    if pool.countIncludePad {
                        let hEnd = min(h0 + kh, H + pool.padding.bottom), wEnd = min(w0 + kw, W + pool.padding.right)
                        divisor = (hEnd - h0) * (wEnd - w0)
                    } else {
                        divisor = max(1, rowTaps.count * columnTaps.count)
                    }
                    out[ow] = sum / Float(divisor)
                }
            }
        }
    }
}
