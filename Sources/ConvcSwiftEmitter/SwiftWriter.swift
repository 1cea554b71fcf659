// Swift source as a tree of statements, built by lowering and rendered once: lowering states structure, and the
// renderer alone indents and closes blocks.

/// One statement of emitted Swift.
indirect enum SwiftStatement: Hashable {
    /// A line of code, its braces balanced (a closure or a one-line `if` may open and close on it).
    case line(String)
    /// `// text`
    case comment(String)
    /// `/// text`
    case doc(String)
    case blank
    /// `header {` (or `header { x in`), the body one level deeper, then `}`.
    case block(header: String, opening: String, body: [SwiftStatement])
    /// A line of source written as it is (embedded support code, rows of a multi-line string).
    case verbatim(String)
}

/// The statements as Swift text, four spaces per level.
func render(_ statements: [SwiftStatement]) -> String {
    var lines: [String] = []
    func emit(_ statements: [SwiftStatement], depth: Int) {
        let indent = String(repeating: "    ", count: depth)
        for statement in statements {
            switch statement {
            case .line(let text), .verbatim(let text): lines.append(text.isEmpty ? "" : indent + text)
            case .comment(let text): lines.append(indent + "// " + text)
            case .doc(let text): lines.append(indent + (text.isEmpty ? "///" : "/// " + text))
            case .blank: lines.append("")
            case .block(let header, let opening, let body):
                lines.append(indent + header + opening)
                emit(body, depth: depth + 1)
                lines.append(indent + "}")
            }
        }
    }
    emit(statements, depth: 0)
    return lines.joined(separator: "\n") + "\n"
}

/// Builds statements in order.
struct SwiftWriter {
    private(set) var statements: [SwiftStatement] = []

    /// A line of code: one line, no brace left open or closed (blocks go through `block`).
    mutating func line(_ text: String = "") {
        assert(isSelfContained(text), "a line of emitted code opens or closes a block: \(text)")
        statements.append(text.isEmpty ? .blank : .line(text))
    }

    mutating func block(_ header: String, opening: String = " {", _ body: (inout SwiftWriter) -> Void) {
        var inner = SwiftWriter()
        body(&inner)
        statements.append(.block(header: header, opening: opening, body: inner.statements))
    }

    /// `for variable in 0..<count { body }`, or the body alone where the loop would run once (the body then
    /// must not name the variable).
    mutating func loop(_ variable: String, count: Int, _ body: (inout SwiftWriter) -> Void) {
        if count == 1 { body(&self) } else { block("for \(variable) in 0..<\(count)", body) }
    }

    // A line break inside a comment (a layer name may hold one) would end it.
    mutating func comment(_ text: String) { statements.append(.comment(oneLine(text))) }
    mutating func doc(_ text: String) { statements.append(.doc(oneLine(text))) }
    mutating func verbatim(_ text: String) { statements.append(.verbatim(text)) }

    private func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.isWhitespace ? " " : $0 }))
    }

    var text: String { render(statements) }
}

/// Whether a line of code is one line whose braces, outside string literals, close as they open.
func isSelfContained(_ line: String) -> Bool {
    var depth = 0
    var inString = false, escaped = false
    for character in line {
        if character.isNewline { return false }
        if inString {
            if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            continue
        }
        switch character {
        case "\"": inString = true
        case "{": depth += 1
        case "}":
            depth -= 1
            if depth < 0 { return false }
        default: break
        }
    }
    return depth == 0 && !inString
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
