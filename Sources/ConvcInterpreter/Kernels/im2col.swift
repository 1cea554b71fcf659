// Lowers a convolution's input to a matrix so that the convolution becomes one matrix multiply.
// Legend: ic (input channel), kh kw (kernel tap), oh ow (output pixel); shapes (C, H, W).

/// col[(ic·kh + i)·kw + j, oh·Wo + ow] = x[ic, oh·s − pad + i·d, ow·s − pad + j·d], or 0 in the padding.
/// x: (channels, height, width); col: (channels·kh·kw, Ho·Wo).
func im2col(
    _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernel: (h: Int, w: Int),
    stride: (h: Int, w: Int), padTop: Int, padLeft: Int, dilation: (h: Int, w: Int), outHeight: Int,
    outWidth: Int, into col: UnsafeMutablePointer<Float>
) {
    let pixels = outHeight * outWidth
    for ic in 0..<channels {
        let plane = x + ic * height * width
        for i in 0..<kernel.h {
            for j in 0..<kernel.w {
                let row = col + ((ic * kernel.h + i) * kernel.w + j) * pixels
                // Output columns whose input column is inside the image: ow in owStart..<owEnd.
                let offsetW = j * dilation.w - padLeft
                let owStart = offsetW >= 0 ? 0 : min(outWidth, (-offsetW + stride.w - 1) / stride.w)
                let owEnd = max(owStart, min(outWidth, (width - offsetW + stride.w - 1) / stride.w))
                for oh in 0..<outHeight {
                    let ih = oh * stride.h - padTop + i * dilation.h
                    let out = row + oh * outWidth
                    guard ih >= 0 && ih < height else {
                        out.update(repeating: 0, count: outWidth)
                        continue
                    }
                    let source = plane + ih * width + offsetW
                    if owStart > 0 { out.update(repeating: 0, count: owStart) }
                    if stride.w == 1 {
                        (out + owStart).update(from: source + owStart, count: owEnd - owStart)
                    } else {
                        for ow in owStart..<owEnd { out[ow] = source[ow * stride.w] }
                    }
                    if owEnd < outWidth { (out + owEnd).update(repeating: 0, count: outWidth - owEnd) }
                }
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
