// Upsampling: a call of the support kernel with the sizes and PyTorch's coordinate factors baked in.

import ConvcIR

extension KernelLowering {
    func lowerUpsample(_ upsampling: Upsampling, input: Shape, output: Shape, into w: inout SwiftWriter) {
        let scaleH = upsampling.coordinateScale(input: input.height, output: output.height)
        let scaleW = upsampling.coordinateScale(input: input.width, output: output.width)
        var arguments = "x, y, channels: \(input.channels), input: (\(input.height), \(input.width)), output: (\(output.height), \(output.width)), scale: (\(floatLiteral(scaleH)), \(floatLiteral(scaleW)))"
        switch upsampling.mode {
        case .nearest: w.line("Self.upsampleNearest(\(arguments))")
        case .bilinear:
            arguments += ", alignCorners: \(upsampling.alignCorners)"
            w.line("Self.upsampleBilinear(\(arguments))")
        }
    }
}

/// A Float literal that reads back as exactly `value` (its shortest round-trip spelling).
func floatLiteral(_ value: Float) -> String {
    value == value.rounded() && abs(value) < 1e7 ? "\(Int(value)).0" : "\(value)"
}
