// Where each output pixel of an upsample reads, as PyTorch's CPU kernels compute it (aten/src/ATen/native/
// UpSample.h: area_pixel_compute_scale, area_pixel_compute_source_index, nearest_idx), in Float like them.

extension Upsampling {
    /// Output-to-input coordinate factor along one axis of `input` → `output` elements.
    public func coordinateScale(input: Int, output: Int) -> Float {
        if alignCorners && mode == .bilinear { return output > 1 ? Float(input - 1) / Float(output - 1) : 0 }
        if let scale, scale > 0 { return Float(1.0 / scale) }
        return Float(input) / Float(output)
    }

    /// Nearest: the input index each output index copies (`floor(o · scale)`, PyTorch's legacy `nearest`).
    public func nearestSources(input: Int, output: Int) -> [Int] {
        let scale = coordinateScale(input: input, output: output)
        return (0..<output).map { o in
            if output == input { return o }
            return min(Int((Float(o) * scale).rounded(.down)), input - 1)
        }
    }

    /// Bilinear along one axis: output index o is `(1 − weight) · x[lower] + weight · x[upper]`.
    public struct LinearTap: Hashable, Sendable {
        public var lower: Int
        public var upper: Int
        public var weight: Float

        public init(lower: Int, upper: Int, weight: Float) {
            self.lower = lower
            self.upper = upper
            self.weight = weight
        }
    }

    public func linearTaps(input: Int, output: Int) -> [LinearTap] {
        let scale = coordinateScale(input: input, output: output)
        return (0..<output).map { o in
            let source = alignCorners ? scale * Float(o) : max(scale * (Float(o) + 0.5) - 0.5, 0)
            let lower = min(Int(source.rounded(.down)), input - 1)
            let weight = min(max(source - Float(lower), 0), 1)
            return LinearTap(lower: lower, upper: lower < input - 1 ? lower + 1 : lower, weight: weight)
        }
    }
}
