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

    /// `for variable in 0..<count { body }`, or the body alone where the loop would run once (the body then
    /// must not name the variable).
    mutating func loop(_ variable: String, count: Int, _ body: (inout SwiftWriter) -> Void) {
        if count == 1 { body(&self) } else { block("for \(variable) in 0..<\(count)", body) }
    }

    // A line break inside a comment (a layer name may hold one) would end it.
    mutating func comment(_ text: String) { line("// " + oneLine(text)) }
    mutating func doc(_ text: String) { line("/// " + oneLine(text)) }

    private func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.isWhitespace ? " " : $0 }))
    }

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

/// `Σ name × factor + constant` in wrapping arithmetic, without zero terms, factors of one or a zero constant.
/// swiftc type-checks each `&*` and `&+` in milliseconds (their overloads are generic, unlike `*` and `+`): the
/// operators an emitted index does without are most of what a large network's file takes to compile.
func offset(_ terms: [(String, Int)], plus constant: Int = 0) -> String {
    var parts = terms.filter { $0.1 != 0 }.map { $0.1 == 1 ? $0.0 : "\($0.0) &* \(literal($0.1))" }
    if constant != 0 || parts.isEmpty { parts.append(literal(constant)) }
    return parts.joined(separator: " &+ ")
}

/// The offset of pixel `q` (row-major in a map `width` wide) in a source whose rows are `rowStride` floats apart
/// and whose pixels `columnStride`: with unit column stride, `q` plus the rows' extra floats.
func pixelOffset(_ q: String, width: Int, rowStride: Int, columnStride: Int) -> String {
    if columnStride == 1 {
        return rowStride == width ? q : "\(q) &+ (\(q) / \(width)) &* \(literal(rowStride - width))"
    }
    return "(\(q) / \(width)) &* \(literal(rowStride)) &+ (\(q) % \(width)) &* \(columnStride)"
}

/// ` + offset` (in parentheses where it is a sum: `&+` shares `+`'s precedence), or nothing for a zero offset.
func plus(_ offset: String) -> String {
    offset == "0" ? "" : offset.contains("&+") ? " + (\(offset))" : " + \(offset)"
}
