// Values after block parameters are substituted, and the arithmetic that gets them there.

import ConvcDiagnostics

/// An argument value with every expression evaluated.
indirect enum Evaluated: Hashable, Sendable {
    case int(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([Located<Evaluated>])
    case mapping

    var typeDescription: String {
        switch self {
        case .int(let v): "\(v)"
        case .number(let v): v.isInfinite ? "an integer too large for 64 bits" : "\(v)"
        case .string(let s): "'\(s)'"
        case .bool(let b): "\(b)"
        case .null: "null"
        case .list(let items): "a list of \(items.count)"
        case .mapping: "a mapping"
        }
    }
}

/// The parameters of the block instance being elaborated.
struct Environment {
    var blockName: String?
    var values: [String: Evaluated] = [:]
    var blockLocation: SourceLocation?
}

extension Elaborator {
    /// Evaluates a value in `environment`; reports undefined parameters, overflow and inexact division.
    mutating func evaluate(_ value: Located<ValueExpr>, in environment: Environment) -> Evaluated? {
        switch value.value {
        case .int(let v): return .int(v)
        case .number(let v): return .number(v)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .mapping: return .mapping
        case .list(let items):
            var result: [Located<Evaluated>] = []
            for item in items {
                guard let evaluated = evaluate(item, in: environment) else { return nil }
                result.append(Located(evaluated, at: item.location))
            }
            return .list(result)
        case .template(let parts):
            // `${expression}` alone is the expression's value, not text.
            if parts.count == 1, case .expr(let expr) = parts[0] {
                return evaluate(Located(.expr(expr), at: value.location), in: environment)
            }
            var text = ""
            for part in parts {
                switch part {
                case .text(let literal): text += literal
                case .expr(.variable(let name, let location)):
                    guard let value = lookUp(name, at: location, in: environment) else { return nil }
                    switch value {
                    case .int(let v): text += String(v)
                    case .string(let s): text += s
                    default:
                        diagnostics.error(
                            "'$\(name)' is \(value.typeDescription) and cannot be part of a name",
                            category: "WrongType",
                            at: location)
                        return nil
                    }
                case .expr(let expr):
                    guard let v = evaluateInteger(expr, at: value.location, in: environment) else { return nil }
                    text += String(v)
                }
            }
            return .string(text)
        case .expr(let expr):
            if case .variable(let name, let location) = expr {
                return lookUp(name, at: location, in: environment)
            }
            return evaluateInteger(expr, at: value.location, in: environment).map { .int($0) }
        }
    }

    private mutating func lookUp(_ name: String, at location: SourceLocation, in environment: Environment)
        -> Evaluated?
    {
        if let value = environment.values[name] { return value }
        let known = environment.values.keys.sorted()
        if let block = environment.blockName {
            diagnostics.error(
                "block '\(block)' has no parameter '\(name)'"
                    + (closestMatch(to: name, in: known).map { "; did you mean '$\($0)'?" }
                        ?? (known.isEmpty ? "" : "; its parameters are \(known.joined(separator: ", "))")),
                category: "UnknownParameter", at: location,
                notes: environment.blockLocation.map { [Note("block '\(block)' is defined here", at: $0)] } ?? [])
        } else {
            diagnostics.error(
                "'$\(name)' is only defined inside a block that declares the parameter '\(name)'",
                category: "UnknownParameter", at: location)
        }
        return nil
    }

    private mutating func evaluateInteger(_ expr: Expr, at location: SourceLocation, in environment: Environment)
        -> Int?
    {
        switch expr {
        case .int(let v): return v
        case .variable(let name, let variableLocation):
            guard let value = lookUp(name, at: variableLocation, in: environment) else { return nil }
            guard case .int(let v) = value else {
                diagnostics.error(
                    "'$\(name)' is \(value.typeDescription) and cannot be used in arithmetic",
                    category: "WrongType", at: variableLocation)
                return nil
            }
            return v
        case .negate(let inner):
            guard let v = evaluateInteger(inner, at: location, in: environment) else { return nil }
            let (result, overflow) = (0).subtractingReportingOverflow(v)
            if overflow {
                diagnostics.error("the expression overflows 64-bit integers", category: "Overflow", at: location)
                return nil
            }
            return result
        case .binary(let op, let left, let right):
            guard let a = evaluateInteger(left, at: location, in: environment),
                let b = evaluateInteger(right, at: location, in: environment)
            else { return nil }
            let result: (Int, Bool)
            switch op {
            case .add: result = a.addingReportingOverflow(b)
            case .subtract: result = a.subtractingReportingOverflow(b)
            case .multiply: result = a.multipliedReportingOverflow(by: b)
            case .divide, .floorDivide, .remainder:
                guard b != 0 else {
                    diagnostics.error(
                        "division by zero in '\(a) \(op.rawValue) 0'", category: "InvalidValue", at: location)
                    return nil
                }
                // Int.min / −1 is the one quotient that overflows; the remainder must not trap on it either.
                let (remainder, remainderOverflow) = a.remainderReportingOverflow(dividingBy: b)
                if remainderOverflow {
                    diagnostics.error(
                        "\(a) \(op.rawValue) \(b) overflows 64-bit integers", category: "Overflow", at: location)
                    return nil
                }
                if op == .divide, remainder != 0 {
                    diagnostics.error(
                        "\(a) / \(b) is not a whole number; use // to round down", category: "InvalidValue",
                        at: location)
                    return nil
                }
                if op == .remainder {
                    result = a.remainderReportingOverflow(dividingBy: b)
                } else {
                    let (q, overflow) = a.dividedReportingOverflow(by: b)
                    // Floor division, like Python's //.
                    result = (q - ((remainder != 0) && ((a < 0) != (b < 0)) ? 1 : 0), overflow)
                }
            }
            if result.1 {
                diagnostics.error(
                    "\(a) \(op.rawValue) \(b) overflows 64-bit integers", category: "Overflow", at: location)
                return nil
            }
            return result.0
        }
    }
}
