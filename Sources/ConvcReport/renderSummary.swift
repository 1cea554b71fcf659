// Renders a `Summary` as a terminal table, Markdown, JSON or CSV. Returns text; the caller prints it.

import ConvcDiagnostics
import ConvcIR

public enum ReportFormat: String, CaseIterable, Sendable {
    case table, markdown, json, csv
}

public func renderSummary(_ summary: Summary, format: ReportFormat) -> String {
    switch format {
    case .table: renderTable(summary)
    case .markdown: renderMarkdown(summary)
    case .json: renderJSON(summary)
    case .csv: renderCSV(summary)
    }
}

// MARK: Number formatting

/// `44.59 MiB`, binary units.
func bytes(_ value: Int) -> String { scaled(value, base: 1024, units: [" B", " KiB", " MiB", " GiB", " TiB"]) }

/// `1.81 G`, decimal units.
func metric(_ value: Int) -> String { scaled(value, base: 1000, units: ["", " K", " M", " G", " T", " P"]) }

/// `value` in the largest unit it reaches, two decimals past the first.
func scaled(_ value: Int, base: Double, units: [String]) -> String {
    var scaled = Double(value)
    var unit = 0
    while scaled >= base && unit < units.count - 1 {
        scaled /= base
        unit += 1
    }
    return unit == 0 ? "\(value)\(units[0])" : "\(decimal(scaled, places: 2))\(units[unit])"
}

func decimal(_ value: Double, places: Int) -> String {
    guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
    var factor = 1.0
    for _ in 0..<places { factor *= 10 }
    let scaled = Int((value * factor).rounded())
    let whole = scaled / Int(factor)
    var fraction = String(abs(scaled % Int(factor)))
    while fraction.count < places { fraction = "0" + fraction }
    return places == 0 ? "\(whole)" : "\(whole).\(fraction)"
}

/// `7`, `0.5`, `427`: receptive-field numbers without trailing zeros.
func compact(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    var text = decimal(value, places: 4)
    while text.hasSuffix("0") { text.removeLast() }
    // A whole number too large for Int keeps no bare point ("3e15." is not a JSON number).
    if text.hasSuffix(".") { text.removeLast() }
    return text
}

func receptiveFieldText(_ rf: ReceptiveField) -> String {
    let size = rf.size.h == rf.size.w ? compact(rf.size.h) : "\(compact(rf.size.h))×\(compact(rf.size.w))"
    let jump = rf.jump.h == rf.jump.w ? compact(rf.jump.h) : "\(compact(rf.jump.h))×\(compact(rf.jump.w))"
    return "\(size) / \(jump)"
}

// MARK: Totals

func totalLines(_ summary: Summary) -> [(String, String)] {
    [
        ("Trainable params", grouped(summary.params)),
        ("Non-trainable params", grouped(summary.nonTrainableParams) + " (batch-norm running statistics)"),
        ("Total params", grouped(summary.params + summary.nonTrainableParams)),
        ("MACs", "\(grouped(summary.macs)) (\(metric(summary.macs)))"),
        ("FLOPs", "\(grouped(summary.flops)) (\(metric(summary.flops)); 2·MACs + other ops)"),
        (
            "Weights",
            "\(bytes(summary.weightBytes(4))) fp32 · \(bytes(summary.weightBytes(2))) fp16 · \(bytes(summary.weightBytes(1))) int8"
        ),
        (
            "Peak activations",
            "\(bytes(summary.peakActivationBytes)) (batch 1, fp32, fused and reused as emitted; \(bytes(summary.unfusedPeakActivationBytes)) layer by layer)"
        ),
    ]
}

// MARK: Table

func renderTable(_ summary: Summary) -> String {
    let header = ["Layer", "Kind", "Output", "Params", "MACs", "RF size / jump", "Output size"]
    let rows = summary.rows.map { row in
        [
            row.name, row.kind, row.outputShape.description, grouped(row.params), grouped(row.macs),
            receptiveFieldText(row.receptiveField), bytes(row.outputBytes),
        ]
    }
    let rightAligned: Set<Int> = [3, 4, 6]
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            let padding = String(repeating: " ", count: widths[index] - cell.count)
            return rightAligned.contains(index) ? padding + cell : cell + padding
        }.joined(separator: "  ").trimmingTrailingSpaces()
    }
    let rule = String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1))
    var lines = [
        "\(summary.model): input \(summary.inputShape) → output \(summary.outputShape), \(summary.layerCount) layer\(summary.layerCount == 1 ? "" : "s")",
        "",
    ]
    lines.append(line(header))
    lines.append(rule)
    lines += rows.map(line)
    lines.append(rule)
    let labelWidth = totalLines(summary).map(\.0.count).max() ?? 0
    for (label, value) in totalLines(summary) {
        lines.append(label + ":" + String(repeating: " ", count: labelWidth - label.count + 1) + value)
    }
    return lines.joined(separator: "\n") + "\n"
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.hasSuffix(" ") { copy.removeLast() }
        return copy
    }
}

// MARK: Markdown

func renderMarkdown(_ summary: Summary) -> String {
    var lines = [
        "## \(summary.model)", "",
        "Input \(summary.inputShape) → output \(summary.outputShape), \(summary.layerCount) layer\(summary.layerCount == 1 ? "" : "s").", "",
        "| Layer | Kind | Output | Params | MACs | RF size / jump | Output size |",
        "| --- | --- | --- | ---: | ---: | --- | ---: |",
    ]
    for row in summary.rows {
        lines.append(
            "| `\(row.name)` | \(row.kind) | \(row.outputShape) | \(grouped(row.params)) | \(grouped(row.macs)) | \(receptiveFieldText(row.receptiveField)) | \(bytes(row.outputBytes)) |"
        )
    }
    lines.append("")
    lines.append("| Total | |")
    lines.append("| --- | ---: |")
    for (label, value) in totalLines(summary) { lines.append("| \(label) | \(value) |") }
    return lines.joined(separator: "\n") + "\n"
}

// MARK: CSV

func renderCSV(_ summary: Summary) -> String {
    func field(_ text: String) -> String {
        text.contains(",") || text.contains("\"") || text.contains("\n")
            ? "\"" + text.replacingQuotes() + "\"" : text
    }
    var lines = ["name,kind,output_shape,params,macs,rf_size_h,rf_size_w,rf_jump_h,rf_jump_w,output_bytes"]
    for row in summary.rows {
        let rf = row.receptiveField
        lines.append(
            [
                field(row.name), field(row.kind), row.outputShape.dims.map(String.init).joined(separator: "x"),
                String(row.params), String(row.macs), compact(rf.size.h), compact(rf.size.w), compact(rf.jump.h),
                compact(rf.jump.w), String(row.outputBytes),
            ].joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
}

extension String {
    func replacingQuotes() -> String {
        var result = ""
        for character in self {
            if character == "\"" { result += "\"\"" } else { result.append(character) }
        }
        return result
    }
}

// MARK: JSON

/// The stable JSON contract (see docs/reports.md). Keys are written in a fixed order.
func renderJSON(_ summary: Summary) -> String {
    let string = jsonString
    func shape(_ s: Shape) -> String { "[" + s.dims.map(String.init).joined(separator: ", ") + "]" }
    func number(_ value: Double) -> String { compact(value) }
    var lines = ["{"]
    lines.append("  \"model\": \(string(summary.model)),")
    lines.append("  \"input_shape\": \(shape(summary.inputShape)),")
    lines.append("  \"output_shape\": \(shape(summary.outputShape)),")
    lines.append("  \"params\": \(summary.params),")
    lines.append("  \"non_trainable_params\": \(summary.nonTrainableParams),")
    lines.append("  \"macs\": \(summary.macs),")
    lines.append("  \"flops\": \(summary.flops),")
    lines.append(
        "  \"weight_bytes\": { \"fp32\": \(summary.weightBytes(4)), \"fp16\": \(summary.weightBytes(2)), \"int8\": \(summary.weightBytes(1)) },"
    )
    lines.append("  \"peak_activation_bytes\": \(summary.peakActivationBytes),")
    lines.append("  \"unfused_peak_activation_bytes\": \(summary.unfusedPeakActivationBytes),")
    lines.append("  \"layers\": [")
    for (index, row) in summary.rows.enumerated() {
        let rf = row.receptiveField
        let comma = index == summary.rows.count - 1 ? "" : ","
        lines.append(
            "    { \"name\": \(string(row.name)), \"kind\": \(string(row.kind)), \"output_shape\": \(shape(row.outputShape)), \"params\": \(row.params), \"macs\": \(row.macs), \"receptive_field\": { \"size\": [\(number(rf.size.h)), \(number(rf.size.w))], \"jump\": [\(number(rf.jump.h)), \(number(rf.jump.w))] }, \"output_bytes\": \(row.outputBytes) }\(comma)"
        )
    }
    lines.append("  ]")
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
