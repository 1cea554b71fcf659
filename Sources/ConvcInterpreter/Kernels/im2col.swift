// Lowers a convolution's input to a matrix so that the convolution becomes one matrix multiply.
// Legend: ic (input channel), kh kw (kernel tap), oh ow (output pixel); shapes (C, H, W).

/// The im2col matrix of a convolution, packed panel by panel straight from the image, so the matrix is never
/// materialised: B[(ic·kh + i)·kw + j, oh·Wo + ow] = x[ic, oh·s − pad + i·d, ow·s − pad + j·d], or 0 in the padding.
/// x: (channels, height, width).
struct ImageSource: PanelSource {
    let x: UnsafePointer<Float>
    let height, width: Int
    let kernel: (h: Int, w: Int)
    let stride: (h: Int, w: Int)
    let dilation: (h: Int, w: Int)
    let padTop, padLeft: Int
    let outWidth: Int

    @inline(__always)
    func pack(k0: Int, kc: Int, n0: Int, nr: Int, into panel: UnsafeMutablePointer<Float>) {
        // The panel's columns split into runs along output rows: (first column, count, oh, first ow).
        var runs: [(column: Int, count: Int, oh: Int, ow: Int)] = []
        var column = 0
        while column < nr {
            let pixel = n0 + column
            let oh = pixel / outWidth, ow = pixel % outWidth
            let count = min(nr - column, outWidth - ow)
            runs.append((column, count, oh, ow))
            column += count
        }
        let taps = kernel.h * kernel.w
        for kk in 0..<kc {
            let k = k0 + kk
            let ic = k / taps, tap = k % taps
            let i = tap / kernel.w, j = tap % kernel.w
            let plane = x + ic * height * width
            let target = panel + kk * gemmNR
            if nr < gemmNR { (target + nr).update(repeating: 0, count: gemmNR - nr) }
            for run in runs {
                let out = target + run.column
                let ih = run.oh * stride.h - padTop + i * dilation.h
                guard ih >= 0 && ih < height else {
                    out.update(repeating: 0, count: run.count)
                    continue
                }
                let iw = run.ow * stride.w - padLeft + j * dilation.w
                // Columns t with 0 ≤ iw + t·s < width.
                let first = iw >= 0 ? 0 : min(run.count, (-iw + stride.w - 1) / stride.w)
                let end = max(first, min(run.count, (width - iw + stride.w - 1) / stride.w))
                if first > 0 { out.update(repeating: 0, count: first) }
                let row = plane + ih * width + iw
                if stride.w == 1 {
                    (out + first).update(from: row + first, count: end - first)
                } else {
                    for t in first..<end { out[t] = row[t * stride.w] }
                }
                if end < run.count { (out + end).update(repeating: 0, count: run.count - end) }
            }
        }
    }
}

/// Depthwise convolution (one filter per channel, multiplier 1): y[c] = x[c] ⋆ w[c] + b[c], then the activation.
/// x: (C, H, W); w: (C, kh, kw); y: (C, Ho, Wo). Interior rows run without bounds checks.
func depthwiseConvolution(
    _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, weights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padTop: Int, padLeft: Int,
    dilation: (h: Int, w: Int), outHeight: Int, outWidth: Int, activation: Epilogue.Activation,
    into y: UnsafeMutablePointer<Float>, channelRange: Range<Int>
) {
    for c in channelRange {
        let plane = x + c * height * width
        let w = weights + c * kernel.h * kernel.w
        let out = y + c * outHeight * outWidth
        out.update(repeating: 0, count: outHeight * outWidth)
        for i in 0..<kernel.h {
            for j in 0..<kernel.w {
                let tap = w[i * kernel.w + j]
                let offsetW = j * dilation.w - padLeft
                let owStart = offsetW >= 0 ? 0 : min(outWidth, (-offsetW + stride.w - 1) / stride.w)
                let owEnd = max(owStart, min(outWidth, (width - offsetW + stride.w - 1) / stride.w))
                for oh in 0..<outHeight {
                    let ih = oh * stride.h - padTop + i * dilation.h
                    guard ih >= 0 && ih < height else { continue }
                    let source = plane + ih * width + offsetW
                    let row = out + oh * outWidth
                    if stride.w == 1 {
                        for ow in owStart..<owEnd { row[ow] += tap * source[ow] }
                    } else {
                        for ow in owStart..<owEnd { row[ow] += tap * source[ow * stride.w] }
                    }
                }
            }
        }
        let b = bias?[c] ?? 0
        for row in 0..<outHeight {
            applyEpilogue(out + row * outWidth, count: outWidth, bias: b, activation: activation)
        }
    }
}
