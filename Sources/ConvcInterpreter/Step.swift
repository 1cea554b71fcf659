// One step of a planned model: a kernel call with its prepared weights. Legend: oc ic oh ow kh kw; shapes (C, H, W).

import ConvcIR
import Foundation

struct ConvGeometry {
    var inChannels, height, width: Int
    var outChannels, outHeight, outWidth: Int
    var kernel: (h: Int, w: Int)
    var stride: (h: Int, w: Int)
    var dilation: (h: Int, w: Int)
    var padTop, padLeft: Int
    var groups: Int

    init(conv: Convolution, input: Shape, output: Shape) {
        inChannels = input.channels
        height = input.height
        width = input.width
        outChannels = output.channels
        outHeight = output.height
        outWidth = output.width
        kernel = (conv.kernel.h, conv.kernel.w)
        stride = (conv.stride.h, conv.stride.w)
        dilation = (conv.dilation.h, conv.dilation.w)
        padTop = conv.padding.top
        padLeft = conv.padding.left
        groups = conv.groups
    }

    var isPointwise: Bool {
        kernel == (1, 1) && stride == (1, 1) && padTop == 0 && padLeft == 0
    }
}

/// A grouped convolution as one matrix multiply per group: W_g [Cout/g, Cin/g·kh·kw] · im2col(x_g).
struct ConvPlan {
    var geometry: ConvGeometry
    var packed: [PackedMatrix]
    var bias: [Float]?
    var activation: Epilogue.Activation

    init(geometry: ConvGeometry, weight: [Float], bias: [Float]?, activation: Epilogue.Activation) {
        self.geometry = geometry
        let rows = geometry.outChannels / geometry.groups
        let depth = geometry.inChannels / geometry.groups * geometry.kernel.h * geometry.kernel.w
        packed = (0..<geometry.groups).map { g in
            weight.withUnsafeBufferPointer { PackedMatrix(rows: rows, depth: depth, rowMajor: $0.baseAddress! + g * rows * depth) }
        }
        self.bias = bias
        self.activation = activation
    }

    /// The im2col matrix is packed panel by panel from the image (`ImageSource`), never stored.
    var scratchFloats: Int { 0 }

    func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups
        let pixels = g.outHeight * g.outWidth
        for group in 0..<g.groups {
            let source = x + group * inPerGroup * g.height * g.width
            let output = y + group * outPerGroup * pixels
            (bias ?? []).withUnsafeBufferPointer { biasBuffer in
                let epilogue = Epilogue(
                    bias: bias == nil ? nil : biasBuffer.baseAddress! + group * outPerGroup, activation: activation)
                let panels = (pixels + gemmNR - 1) / gemmNR
                parallelFor(panels, threads: threads, minimumPerThread: 2) { range in
                    let columns = (range.lowerBound * gemmNR)..<min(pixels, range.upperBound * gemmNR)
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmKC * gemmNR) { packB in
                        if g.isPointwise {
                            gemm(
                                packed[group], b: MatrixSource(base: source, ldb: pixels), c: output, ldc: pixels,
                                columns: columns, epilogue: epilogue, scratch: packB.baseAddress!)
                        } else {
                            let image = ImageSource(
                                x: source, height: g.height, width: g.width, kernel: g.kernel, stride: g.stride,
                                dilation: g.dilation, padTop: g.padTop, padLeft: g.padLeft, outWidth: g.outWidth)
                            gemm(
                                packed[group], b: image, c: output, ldc: pixels, columns: columns, epilogue: epilogue,
                                scratch: packB.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

/// One filter per channel (MobileNet's depthwise conv).
struct DepthwisePlan {
    var geometry: ConvGeometry
    var weight: [Float]
    var bias: [Float]?
    var activation: Epilogue.Activation

    func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        weight.withUnsafeBufferPointer { w in
            (bias ?? []).withUnsafeBufferPointer { b in
                parallelFor(g.outChannels, threads: threads, minimumPerThread: 4) { channels in
                    depthwiseConvolution(
                        x, channels: g.inChannels, height: g.height, width: g.width, weights: w.baseAddress!,
                        bias: bias == nil ? nil : b.baseAddress!, kernel: g.kernel, stride: g.stride, padTop: g.padTop,
                        padLeft: g.padLeft, dilation: g.dilation, outHeight: g.outHeight, outWidth: g.outWidth,
                        activation: activation, into: y, channelRange: channels)
                }
            }
        }
    }
}

/// Transposed convolution: col = W_gᵀ [Cout/g·kh·kw, Cin/g] · x_g [Cin/g, H·W], then col2im adds each column's
/// taps into the output (PyTorch ConvTranspose2d, weight [Cin, Cout/g, kh, kw]).
struct ConvTransposePlan {
    var geometry: ConvGeometry
    var packed: [PackedMatrix]
    var bias: [Float]?
    var activation: Epilogue.Activation

    init(geometry: ConvGeometry, weight: [Float], bias: [Float]?, activation: Epilogue.Activation) {
        self.geometry = geometry
        let inPerGroup = geometry.inChannels / geometry.groups
        let outPerGroup = geometry.outChannels / geometry.groups
        let taps = geometry.kernel.h * geometry.kernel.w
        packed = (0..<geometry.groups).map { g in
            // Transpose W_g [Cin/g, Cout/g·taps] to [Cout/g·taps, Cin/g].
            var transposed = [Float](repeating: 0, count: inPerGroup * outPerGroup * taps)
            for ic in 0..<inPerGroup {
                for r in 0..<(outPerGroup * taps) {
                    transposed[r * inPerGroup + ic] = weight[(g * inPerGroup + ic) * outPerGroup * taps + r]
                }
            }
            return transposed.withUnsafeBufferPointer {
                PackedMatrix(rows: outPerGroup * taps, depth: inPerGroup, rowMajor: $0.baseAddress!)
            }
        }
        self.bias = bias
        self.activation = activation
    }

    var scratchFloats: Int {
        geometry.outChannels / geometry.groups * geometry.kernel.h * geometry.kernel.w * geometry.height
            * geometry.width
    }

    func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups
        let inPixels = g.height * g.width, outPixels = g.outHeight * g.outWidth
        y.update(repeating: 0, count: g.outChannels * outPixels)
        for group in 0..<g.groups {
            let panels = (inPixels + gemmNR - 1) / gemmNR
            parallelFor(panels, threads: threads, minimumPerThread: 2) { range in
                let columns = (range.lowerBound * gemmNR)..<min(inPixels, range.upperBound * gemmNR)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmKC * gemmNR) { packB in
                    gemm(
                        packed[group], b: MatrixSource(base: x + group * inPerGroup * inPixels, ldb: inPixels),
                        c: scratch, ldc: inPixels, columns: columns, epilogue: Epilogue(), scratch: packB.baseAddress!)
                }
            }
            // col2im: output (oc, ih·s − pad + i·d, iw·s − pad + j·d) += col[(oc·kh + i)·kw + j, ih·W + iw].
            parallelFor(outPerGroup, threads: threads) { channels in
                for o in channels {
                    let out = y + (group * outPerGroup + o) * outPixels
                    for i in 0..<g.kernel.h {
                        for j in 0..<g.kernel.w {
                            let row = scratch + ((o * g.kernel.h + i) * g.kernel.w + j) * inPixels
                            for ih in 0..<g.height {
                                let oh = ih * g.stride.h - g.padTop + i * g.dilation.h
                                guard oh >= 0 && oh < g.outHeight else { continue }
                                for iw in 0..<g.width {
                                    let ow = iw * g.stride.w - g.padLeft + j * g.dilation.w
                                    guard ow >= 0 && ow < g.outWidth else { continue }
                                    out[oh * g.outWidth + ow] += row[ih * g.width + iw]
                                }
                            }
                        }
                    }
                }
            }
        }
        for oc in 0..<g.outChannels {
            let b = bias?[oc] ?? 0
            applyEpilogue(y + oc * outPixels, count: outPixels, bias: b, activation: activation)
        }
    }
}

/// A dense layer as one dot product per unit (the batch is small, so a matrix-vector product per sample).
struct DensePlan {
    var inFeatures: Int
    var units: Int
    var weight: [Float]
    var bias: [Float]
    var activation: Epilogue.Activation

    func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        weight.withUnsafeBufferPointer { w in
            parallelFor(units, threads: threads, minimumPerThread: 64) { range in
                for u in range {
                    y[u] = dot(w.baseAddress! + u * inFeatures, x, count: inFeatures) + bias[u]
                }
            }
        }
        applyEpilogue(y, count: units, bias: 0, activation: activation)
    }
}

/// A dot product with sixteen independent partial sums (a plain float reduction would stay scalar).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    typealias V = SIMD16<Float>
    var s0 = V(), s1 = V()
    var i = 0
    while i + 32 <= count {
        s0 += UnsafeRawPointer(a + i).loadUnaligned(as: V.self) * UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
        s1 += UnsafeRawPointer(a + i + 16).loadUnaligned(as: V.self)
            * UnsafeRawPointer(b + i + 16).loadUnaligned(as: V.self)
        i += 32
    }
    var sum = (s0 + s1).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}
