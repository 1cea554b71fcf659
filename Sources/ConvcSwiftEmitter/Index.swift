// Integer index expressions of emitted code, folded as lowering builds them.

/// `Σ atom × factor + constant` in wrapping arithmetic (`&+`, `&-`, `&*`), folded as it is built: a zero factor
/// drops its term, a factor of one is not written, like atoms are combined and constants summed, so emitted
/// indices read `oh &* 2 &- 1`, never `oh &* 2 &+ -1 &+ 0 &* w`. swiftc type-checks each `&*` and `&+` in
/// milliseconds (their overloads are generic, unlike `*` and `+`): the operators an index does without are most
/// of what a large network's file takes to compile.
struct Index: CustomStringConvertible, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    /// Terms in the order they were first added; an atom is an identifier or a parenthesised expression.
    private(set) var terms: [(atom: String, factor: Int)] = []
    private(set) var constant = 0

    init(integerLiteral value: Int) { constant = value }
    /// An identifier, or an expression that binds as tightly as one (`(q / 7)`, `x[i]`).
    init(stringLiteral atom: String) { terms = [(atom, 1)] }
    init(_ atom: String) { terms = [(atom, 1)] }
    init(_ value: Int) { constant = value }

    var isConstant: Bool { terms.isEmpty }

    static func + (a: Index, b: Index) -> Index {
        var sum = a
        for (atom, factor) in b.terms {
            if let index = sum.terms.firstIndex(where: { $0.atom == atom }) {
                sum.terms[index].factor &+= factor
            } else {
                sum.terms.append((atom, factor))
            }
        }
        sum.terms.removeAll { $0.factor == 0 }
        sum.constant &+= b.constant
        return sum
    }

    static func + (a: Index, b: Int) -> Index { a + Index(b) }
    static func - (a: Index, b: Index) -> Index { a + b * -1 }
    static func - (a: Index, b: Int) -> Index { a + Index(-b) }

    /// A term or a constant times `k` is folded; a sum times `k` stays a product, `(block &* 32 &+ oc) &* 1024`:
    /// distributed, the same index made swiftc's optimiser give up vectorising the loop around it (a 5×5 conv's
    /// write-out ran four times slower).
    static func * (a: Index, k: Int) -> Index {
        if k == 0 { return 0 }
        if k == 1 { return a }
        if a.terms.count + (a.constant == 0 ? 0 : 1) > 1 { return Index("(\(a))") * k }
        var product = a
        product.terms = a.terms.map { ($0.atom, $0.factor &* k) }
        product.constant = a.constant &* k
        return product
    }

    static func * (k: Int, a: Index) -> Index { a * k }

    /// Division by a positive `k`: folded where it is exact (every factor and the constant multiples of `k`);
    /// otherwise a new atom.
    func dividedBy(_ k: Int) -> Index {
        if k == 1 { return self }
        if isConstant { return Index(constant / k) }
        if constant % k == 0, terms.allSatisfy({ $0.factor % k == 0 }) {
            var quotient = self
            quotient.terms = terms.map { ($0.atom, $0.factor / k) }
            quotient.constant = constant / k
            return quotient
        }
        return Index("(\(operand) / \(k))")
    }

    /// The remainder of division by a positive `k`, as an atom (folded for constants).
    func remainder(_ k: Int) -> Index {
        if k == 1 { return 0 }
        if isConstant { return Index(constant % k) }
        return Index("(\(operand) % \(k))")
    }

    /// The expression as the left operand of `/` or `%`: parenthesised unless it is one atom (`/` binds tighter
    /// than `&+`, so `i &* 6 &+ 11 / 6` would divide only the 11).
    private var operand: String {
        terms.count == 1 && terms[0].factor == 1 && constant == 0 ? terms[0].atom : "(\(self))"
    }

    var description: String {
        var text = ""
        for (atom, factor) in terms {
            let magnitude = factor.magnitude == 1 ? atom : "\(atom) &* \(literal(Int(factor.magnitude)))"
            if text.isEmpty {
                text = factor < 0 ? (factor == -1 ? "0 &- \(atom)" : "\(atom) &* \(literal(factor))") : magnitude
            } else {
                text += (factor < 0 ? " &- " : " &+ ") + magnitude
            }
        }
        if text.isEmpty { return literal(constant) }
        if constant != 0 { text += (constant < 0 ? " &- " : " &+ ") + literal(Int(constant.magnitude)) }
        return text
    }
}

/// `Σ name × factor + constant`, folded (see `Index`).
func offset(_ terms: [(String, Int)], plus constant: Int = 0) -> String {
    terms.reduce(Index(constant)) { $0 + Index($1.0) * $1.1 }.description
}

/// The offset of pixel `q` (row-major in a map `width` wide) in a source whose rows are `rowStride` floats apart
/// and whose pixels `columnStride`: with unit column stride, `q` plus the rows' extra floats.
func pixelOffset(_ q: String, width: Int, rowStride: Int, columnStride: Int) -> String {
    let row = Index(q).dividedBy(width)
    if columnStride == 1 { return (Index(q) + row * (rowStride - width)).description }
    return (row * rowStride + Index(q).remainder(width) * columnStride).description
}

/// ` + offset` (in parentheses where it is a sum: `&+` shares `+`'s precedence), or nothing for a zero offset.
func plus(_ offset: String) -> String {
    offset == "0" ? "" : offset.contains("&+") || offset.contains("&-") ? " + (\(offset))" : " + \(offset)"
}

/// ` + offset` for an index expression: nothing when it is zero.
func plus(_ offset: Index) -> String { plus(offset.description) }
