// Integer expressions in block arguments: `$filters * 4`, `($a + $b) // 2`. Precedence as in Swift.

import ConvcDiagnostics

/// Parses `text` (which contains a `$`) as an integer expression; nil with a reason on failure.
func parseExpression(_ text: String) -> Result<Expr, ExpressionError> {
    var parser = ExpressionParser(Array(text.unicodeScalars))
    return parser.parseAll()
}

/// Parses text with `$name` and `${expression}` substitutions; nil when it has none or they are malformed.
func parseTemplate(_ text: String) -> [TemplatePart]? {
    let scalars = Array(text.unicodeScalars)
    var parts: [TemplatePart] = []
    var literal = ""
    var index = 0
    func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || s == "_" || ("0"..."9").contains(s)
    }
    while index < scalars.count {
        let scalar = scalars[index]
        guard scalar == "$" else {
            literal.unicodeScalars.append(scalar)
            index += 1
            continue
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        literal = ""
        if index + 1 < scalars.count, scalars[index + 1] == "{" {
            guard let close = scalars[(index + 2)...].firstIndex(of: "}") else { return nil }
            let inner = String(String.UnicodeScalarView(scalars[(index + 2)..<close]))
            guard case .success(let expr) = parseExpression(inner) else { return nil }
            parts.append(.expr(expr))
            index = close + 1
        } else {
            var end = index + 1
            while end < scalars.count, isNameScalar(scalars[end]) { end += 1 }
            guard end > index + 1 else { return nil }
            parts.append(
                .expr(
                    .variable(
                        String(String.UnicodeScalarView(scalars[(index + 1)..<end])),
                        SourceLocation(file: "", line: 0, column: index + 1))))
            index = end
        }
    }
    if !literal.isEmpty { parts.append(.text(literal)) }
    return parts
}

struct ExpressionError: Error {
    var message: String
}

private struct ExpressionParser {
    let scalars: [Unicode.Scalar]
    var index = 0
    var depth = 0
    /// Operators read so far; a longer expression is surely a mistake, and evaluating it recursively could
    /// exhaust the stack.
    var operators = 0

    mutating func countOperator() throws {
        operators += 1
        if operators > 256 { throw ExpressionError(message: "the expression has more than 256 operators") }
    }

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    mutating func parseAll() -> Result<Expr, ExpressionError> {
        do {
            let expr = try parseSum()
            skipSpaces()
            if index < scalars.count { throw ExpressionError(message: "unexpected '\(scalars[index])'") }
            return .success(expr)
        } catch let error as ExpressionError {
            return .failure(error)
        } catch {
            return .failure(ExpressionError(message: "invalid expression"))
        }
    }

    mutating func skipSpaces() {
        while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
    }

    mutating func peek(_ text: String) -> Bool {
        skipSpaces()
        let wanted = Array(text.unicodeScalars)
        guard index + wanted.count <= scalars.count else { return false }
        return Array(scalars[index..<index + wanted.count]) == wanted
    }

    mutating func parseSum() throws -> Expr {
        var left = try parseProduct()
        while true {
            if peek("+") {
                try countOperator()
                index += 1
                left = .binary(.add, left, try parseProduct())
            } else if peek("-") {
                try countOperator()
                index += 1
                left = .binary(.subtract, left, try parseProduct())
            } else {
                return left
            }
        }
    }

    mutating func parseProduct() throws -> Expr {
        var left = try parseUnary()
        while true {
            if peek("//") {
                try countOperator()
                index += 2
                left = .binary(.floorDivide, left, try parseUnary())
            } else if peek("*") {
                try countOperator()
                index += 1
                left = .binary(.multiply, left, try parseUnary())
            } else if peek("/") {
                try countOperator()
                index += 1
                left = .binary(.divide, left, try parseUnary())
            } else if peek("%") {
                try countOperator()
                index += 1
                left = .binary(.remainder, left, try parseUnary())
            } else {
                return left
            }
        }
    }

    mutating func parseUnary() throws -> Expr {
        if peek("-") {
            try countOperator()
            index += 1
            return .negate(try parseUnary())
        }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws -> Expr {
        skipSpaces()
        guard index < scalars.count else { throw ExpressionError(message: "expression ends early") }
        let scalar = scalars[index]
        if scalar == "(" {
            depth += 1
            guard depth < 64 else { throw ExpressionError(message: "parentheses nest too deeply") }
            index += 1
            let inner = try parseSum()
            guard peek(")") else { throw ExpressionError(message: "missing ')'") }
            index += 1
            depth -= 1
            return inner
        }
        if scalar == "$" {
            index += 1
            let start = index
            while index < scalars.count,
                scalars[index].properties.isAlphabetic || scalars[index] == "_"
                    || ("0"..."9").contains(scalars[index])
            {
                index += 1
            }
            guard index > start else { throw ExpressionError(message: "'$' must be followed by a parameter name") }
            let name = String(String.UnicodeScalarView(scalars[start..<index]))
            return .variable(name, SourceLocation(file: "", line: 0, column: start))
        }
        if scalar.properties.isAlphabetic || scalar == "_" {
            // Inside `${…}` and after a `$` elsewhere, a bare name is a parameter too.
            let start = index
            while index < scalars.count,
                scalars[index].properties.isAlphabetic || scalars[index] == "_"
                    || ("0"..."9").contains(scalars[index])
            {
                index += 1
            }
            let name = String(String.UnicodeScalarView(scalars[start..<index]))
            return .variable(name, SourceLocation(file: "", line: 0, column: start))
        }
        if ("0"..."9").contains(scalar) {
            let start = index
            while index < scalars.count, ("0"..."9").contains(scalars[index]) || scalars[index] == "_" { index += 1 }
            let digits = String(String.UnicodeScalarView(scalars[start..<index])).replacingOccurrences("_", "")
            guard let value = Int(digits) else { throw ExpressionError(message: "integer \(digits) is too large") }
            return .int(value)
        }
        throw ExpressionError(message: "unexpected '\(scalar)'")
    }
}

extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
