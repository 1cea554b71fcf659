// Builds Swift source line by line with indentation, so lowering code states structure, not whitespace.

/// An indentation-aware writer of Swift lines.
struct SwiftWriter {
    private(set) var lines: [String] = []
    private var depth = 0

    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// `header {` (or `header { x in`), the body one level deeper, then `}`.
    mutating func block(_ header: String, opening: String = " {", _ body: (inout SwiftWriter) -> Void) {
        line(header + opening)
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }

    mutating func comment(_ text: String) { line("// " + text) }
    mutating func doc(_ text: String) { line("/// " + text) }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

/// Swift integer literals with underscores every three digits past 9,999, as a person would write them.
func literal(_ value: Int) -> String {
    let digits = String(value.magnitude)
    guard digits.count > 4 else { return String(value) }
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append("_") }
        result.append(character)
    }
    return (value < 0 ? "-" : "") + result
}

/// A float literal that reads back exactly.
func literal(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return "\(Int(value)).0" }
    return "\(value)"
}
