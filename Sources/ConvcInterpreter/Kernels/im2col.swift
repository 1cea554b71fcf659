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
/// x: (C, H, W); w: (C, kh, kw); y: (C, Ho, Wo).
///
/// Each channel is first split into zero-padded phase planes, one per (row, column) remainder of the stride:
/// phase (a, b) holds padded pixel (r·sh + a, q·sw + b) at (r, q). Tap (i, j) of output (oh, ow) reads padded
/// pixel (oh·sh + i·dh, ow·sw + j·dw), which is phase ((i·dh) % sh, (j·dw) % sw) at (oh + (i·dh) / sh,
/// ow + (j·dw) / sw): for every tap, one run over the plane, acc[k] += tap · phase[k + offset], k counting output
/// pixels at the phase's row width (its last columns are discarded). Small maps (7×7 under a 5×5 kernel) then run
/// as one long vector loop per tap instead of a short, strided one per row (MobileNet v3's depthwise convs took a
/// third of the time). Taps add in PyTorch's order, 0 + Σ tap · x, then the bias.
func depthwiseConvolution(
    _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, weights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padTop: Int, padLeft: Int,
    dilation: (h: Int, w: Int), outHeight: Int, outWidth: Int, activation: Epilogue.Activation,
    into y: UnsafeMutablePointer<Float>, channelRange: Range<Int>
) {
    let phaseWidth = outWidth + (kernel.w - 1) * dilation.w / stride.w
    let phaseRows = outHeight + (kernel.h - 1) * dilation.h / stride.h
    let phaseFloats = phaseRows * phaseWidth
    let span = (outHeight - 1) * phaseWidth + outWidth
    let phases = UnsafeMutablePointer<Float>.allocate(capacity: stride.h * stride.w * phaseFloats)
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: span)
    defer {
        phases.deallocate()
        sums.deallocate()
    }
    for c in channelRange {
        let plane = x + c * height * width
        for a in 0..<stride.h {
            for b in 0..<stride.w {
                let phase = phases + (a * stride.w + b) * phaseFloats
                // Columns whose input column iw = q·sw + b − padLeft lies in 0 ..< width.
                let first = min(phaseWidth, (padLeft - b + stride.w - 1) / stride.w)
                let end = max(first, min(phaseWidth, (width + padLeft - b + stride.w - 1) / stride.w))
                for r in 0..<phaseRows {
                    let row = phase + r * phaseWidth
                    let ih = r * stride.h + a - padTop
                    guard ih >= 0 && ih < height else {
                        row.update(repeating: 0, count: phaseWidth)
                        continue
                    }
                    let source = plane + ih * width + b - padLeft
                    row.update(repeating: 0, count: first)
                    if stride.w == 1 {
                        (row + first).update(from: source + first, count: end - first)
                    } else {
                        for q in first..<end { row[q] = source[q * stride.w] }
                    }
                    (row + end).update(repeating: 0, count: phaseWidth - end)
                }
            }
        }
        sums.update(repeating: 0, count: span)
        let w = weights + c * kernel.h * kernel.w
        for i in 0..<kernel.h {
            for j in 0..<kernel.w {
                let tap = w[i * kernel.w + j]
                let row = i * dilation.h, column = j * dilation.w
                let phase = phases + ((row % stride.h) * stride.w + column % stride.w) * phaseFloats
                let source = phase + (row / stride.h * phaseWidth + column / stride.w)
                for k in 0..<span { sums[k] += tap * source[k] }
            }
        }
        let out = y + c * outHeight * outWidth
        for oh in 0..<outHeight { (out + oh * outWidth).update(from: sums + oh * phaseWidth, count: outWidth) }
        applyEpilogue(out, count: outHeight * outWidth, bias: bias?[c] ?? 0, activation: activation)
    }
}
