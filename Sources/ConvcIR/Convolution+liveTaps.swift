// Kernel taps that only ever read padding. A conv dilated past its input (DeepLab's ASPP at rates 24 and 36 on a
// 14×14 map) multiplies zeros with all but its centre tap; the back ends run it on the taps that read the input.

extension Convolution {
    /// A conv restricted to the kernel rows and columns (first to last) that read at least one input pixel, with
    /// the padding shrunk by the dilated taps dropped on each side, so that its output is the same.
    public struct LiveTaps: Hashable, Sendable {
        public var conv: Convolution
        public var rows: Range<Int>
        public var columns: Range<Int>
        /// The stored kernel the taps come from.
        public var kernel: Pair

        /// The live taps of a stored weight [filters, channels / groups, kh, kw], in the same order.
        public func crop(_ weight: [Float]) -> [Float] {
            let taps = kernel.h * kernel.w
            var cropped: [Float] = []
            cropped.reserveCapacity(weight.count / taps * rows.count * columns.count)
            for start in Swift.stride(from: 0, to: weight.count, by: taps) {
                for row in rows {
                    for column in columns { cropped.append(weight[start + row * kernel.w + column]) }
                }
            }
            return cropped
        }
    }

    /// The conv on its live taps, or nil when every tap reads the input (or trimming would need negative padding).
    public func liveTaps(input: Shape, output: Shape) -> LiveTaps? {
        func live(_ size: Int, _ outputs: Int, _ taps: Int, _ stride: Int, _ before: Int, _ dilation: Int) -> Range<Int> {
            let reading = (0..<taps).filter { tap in
                (0..<outputs).contains { o in (0..<size).contains(o * stride - before + tap * dilation) }
            }
            guard let first = reading.first, let last = reading.last else { return 0..<taps }
            return first..<last + 1
        }
        let rows = live(input.height, output.height, kernel.h, stride.h, padding.top, dilation.h)
        let columns = live(input.width, output.width, kernel.w, stride.w, padding.left, dilation.w)
        guard rows != 0..<kernel.h || columns != 0..<kernel.w else { return nil }
        let trimmedPadding = Padding(
            top: padding.top - rows.lowerBound * dilation.h, bottom: padding.bottom - (kernel.h - rows.upperBound) * dilation.h,
            left: padding.left - columns.lowerBound * dilation.w, right: padding.right - (kernel.w - columns.upperBound) * dilation.w)
        guard min(trimmedPadding.top, trimmedPadding.bottom, trimmedPadding.left, trimmedPadding.right) >= 0 else { return nil }
        var trimmed = self
        trimmed.kernel = Pair(rows.count, columns.count)
        trimmed.padding = trimmedPadding
        // A single tap on an axis has no spacing: dilation 1 lets the kernels for undilated convs take it.
        trimmed.dilation = Pair(rows.count == 1 ? 1 : dilation.h, columns.count == 1 ? 1 : dilation.w)
        return LiveTaps(conv: trimmed, rows: rows, columns: columns, kernel: kernel)
    }
}
