// Output size of a sliding window, and what it means when the stride does not divide evenly.

import ConvcDiagnostics
import ConvcIR

/// The output extent along one axis (PyTorch `Conv2d` / `MaxPool2d`):
/// `(input + padBegin + padEnd - effectiveKernel) / stride + 1`, rounded down, or up in ceil mode with
/// PyTorch's rule that the last window must start inside the input or its leading padding.
struct AxisExtent {
    var input: Int
    var kernel: Int
    var stride: Int
    var padBegin: Int
    var padEnd: Int
    var dilation: Int
    var ceilMode: Bool

    var effectiveKernel: Int { dilation * (kernel - 1) + 1 }
    var span: Int { input + padBegin + padEnd - effectiveKernel }
    var isExact: Bool { span >= 0 && span % stride == 0 }

    var output: Int {
        guard span >= 0 else { return span / stride + 1 }
        if ceilMode {
            var out = (span + stride - 1) / stride + 1
            if (out - 1) * stride >= input + padBegin { out -= 1 }
            return out
        }
        return span / stride + 1
    }

    /// Input indices that no window reads (real pixels, not padding), as a closed range.
    var unreadInput: ClosedRange<Int>? {
        // A window narrower than its stride skips pixels by design (a 1×1 stride-2 projection).
        guard span >= 0, effectiveKernel >= stride else { return nil }
        let lastRead = (output - 1) * stride - padBegin + effectiveKernel - 1
        return lastRead < input - 1 ? (lastRead + 1)...(input - 1) : nil
    }

    /// `(224 - 11 + 2·0) / 4 + 1 = 54.25`.
    var formula: String {
        let padding = padBegin == padEnd ? "2·\(padBegin)" : "\(padBegin) + \(padEnd)"
        let value: String
        if span % stride == 0 {
            value = "\(span / stride + 1)"
        } else {
            let exact = Double(span) / Double(stride) + 1
            var text = String(format2: exact)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            value = text
        }
        return "(\(input) - \(effectiveKernel) + \(padding)) / \(stride) + 1 = \(value)"
    }

    /// The nearest input sizes, below and above, for which the windows tile exactly.
    var fittingInputs: (Int?, Int) {
        let remainder = ((span % stride) + stride) % stride
        let smaller = input - remainder
        return (
            smaller > 0 && smaller - effectiveKernel + padBegin + padEnd >= 0 ? smaller : nil,
            input + stride - remainder
        )
    }
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        guard value.isFinite, abs(value) < 1e15 else {
            self = "\(value)"
            return
        }
        let scaled = Int((abs(value) * 100).rounded())
        let fraction = scaled % 100
        self = (value < 0 && scaled > 0 ? "-" : "") + "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension Elaborator {
    /// Output height and width of a conv or pool; reports empty outputs as errors and skipped input pixels as warnings.
    mutating func spatialOutput(
        name: String, input: Flow, shape: Shape, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair,
        ceilMode: Bool, isPool: Bool, arguments: LayerArguments?, location: SourceLocation
    ) -> Pair? {
        let rows = AxisExtent(
            input: shape.height, kernel: kernel.h, stride: stride.h, padBegin: padding.top, padEnd: padding.bottom,
            dilation: dilation.h, ceilMode: ceilMode)
        let columns = AxisExtent(
            input: shape.width, kernel: kernel.w, stride: stride.w, padBegin: padding.left, padEnd: padding.right,
            dilation: dilation.w, ceilMode: ceilMode)

        if rows.span < 0 || columns.span < 0 || rows.output <= 0 || columns.output <= 0 {
            let axis = rows.span < 0 || rows.output <= 0 ? rows : columns
            let padded = Pair(
                shape.height + padding.top + padding.bottom, shape.width + padding.left + padding.right)
            let effective = Pair(rows.effectiveKernel, columns.effectiveKernel)
            diagnostics.error(
                "'\(name)': \(axis.formula) leaves no output; the \(effective) \(isPool ? "window" : "kernel") is larger than the padded \(padded) input",
                category: "ShapeMismatch", at: arguments?.location("kernel") ?? location, notes: producerNote(input))
            return nil
        }

        var lost: [String] = []
        let rowLoss = rows.unreadInput
        let columnLoss = columns.unreadInput
        func describe(_ range: ClosedRange<Int>) -> String {
            range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
        }
        if let rowLoss, let columnLoss, rowLoss == columnLoss {
            lost.append(
                "input \(rowLoss.count == 1 ? "row and column" : "rows and columns") \(describe(rowLoss)) are never read"
            )
        } else {
            if let rowLoss {
                lost.append(
                    "input \(rowLoss.count == 1 ? "row" : "rows") \(describe(rowLoss)) \(rowLoss.count == 1 ? "is" : "are") never read"
                )
            }
            if let columnLoss {
                lost.append(
                    "input \(columnLoss.count == 1 ? "column" : "columns") \(describe(columnLoss)) \(columnLoss.count == 1 ? "is" : "are") never read"
                )
            }
        }
        if !lost.isEmpty, misaligned.contains(input.layer) {
            // Already reported upstream: this layer only inherits the odd size.
            pendingMisaligned = true
        } else if !lost.isEmpty {
            pendingMisaligned = true
            let axis = rowLoss != nil ? rows : columns
            var notes: [Note] = []
            if input.layer == 0 {
                let (h, w) = (
                    rows.isExact ? (nil, rows.input) : rows.fittingInputs,
                    columns.isExact ? (nil, columns.input) : columns.fittingInputs
                )
                var fits = "\(shape.channels)×\(h.1)×\(w.1)"
                if let smallerH = h.0 ?? (rows.isExact ? rows.input : nil),
                    let smallerW = w.0 ?? (columns.isExact ? columns.input : nil)
                {
                    fits += " (or \(shape.channels)×\(smallerH)×\(smallerW))"
                }
                notes.append(Note("the input is \(shape) here; \(fits) fits exactly", at: layers[0].location))
            } else {
                notes += producerNote(input)
                if let fix = fittingPadding(rows: rows, columns: columns) {
                    notes.append(
                        Note(
                            "padding \(fix) fits exactly" + (isPool && !ceilMode ? ", as does 'ceil_mode: true'" : ""),
                            at: location))
                } else if isPool && !ceilMode {
                    notes.append(Note("'ceil_mode: true' covers the last pixels", at: location))
                }
            }
            warn(
                "'\(name)': \(axis.formula) is not a whole number; \(lost.joined(separator: "; "))",
                category: "DroppedInput", accepted: acceptedHere,
                at: arguments?.location("stride") ?? arguments?.location("kernel") ?? location, notes: notes)
        }
        return Pair(rows.output, columns.output)
    }

    /// A symmetric padding that makes both axes tile exactly, if one up to the kernel size does.
    func fittingPadding(rows: AxisExtent, columns: AxisExtent) -> String? {
        func fit(_ axis: AxisExtent) -> Int? {
            guard axis.padBegin == axis.padEnd else { return nil }
            for p in 0..<axis.effectiveKernel {
                var candidate = axis
                candidate.padBegin = p
                candidate.padEnd = p
                if candidate.span >= 0, candidate.isExact { return p }
            }
            return nil
        }
        guard let h = rows.isExact ? rows.padBegin : fit(rows),
            let w = columns.isExact ? columns.padBegin : fit(columns)
        else { return nil }
        return h == w ? "\(h)" : "[\(h), \(w)]"
    }
}
