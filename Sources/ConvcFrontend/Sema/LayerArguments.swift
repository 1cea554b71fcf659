// A layer's arguments after substitution, read as the types the layer kind needs.

import ConvcDiagnostics
import ConvcIR

/// The evaluated arguments of one layer instance: its own, falling back to the spec's `defaults:`.
struct LayerArguments {
    var kind: String
    var values: [String: Located<Evaluated>]
    var keyLocations: [String: SourceLocation]
    /// Set when any argument failed to evaluate or had the wrong type; the layer is then not checked further.
    var failed = false

    func has(_ key: String) -> Bool { values[key] != nil }
    /// Keys whose values come from the spec's `defaults:`.
    var fromDefaults: Set<String> = []

    /// Where the layer wrote `key`; nil for a value from `defaults:` (diagnostics then point at the layer).
    func location(_ key: String) -> SourceLocation? { fromDefaults.contains(key) ? nil : values[key]?.location }
}

extension Elaborator {
    mutating func evaluateArguments(_ layer: LayerSpec, defaults: [ArgumentSpec], in environment: Environment)
        -> LayerArguments
    {
        var arguments = LayerArguments(kind: layer.kind.value, values: [:], keyLocations: [:])
        let ownKeys = Set(layer.arguments.map(\.key.value))
        arguments.fromDefaults = Set(defaults.map(\.key.value)).subtracting(ownKeys)
        for argument in defaults + layer.arguments {
            guard let value = evaluate(argument.value, in: environment) else {
                arguments.failed = true
                continue
            }
            let key = argument.key.value
            if let schema = LayerSchema.byName[layer.kind.value]?.key(key),
                let problem = literalTypeProblem(value.asValueExpr, schema.type)
            {
                diagnostics.error(
                    problem.message(for: "'\(layer.kind.value).\(key)'", type: schema.type),
                    category: problem.category, at: problem.location ?? argument.value.location)
                arguments.failed = true
                continue
            }
            arguments.values[key] = Located(value, at: argument.value.location)
            arguments.keyLocations[key] = argument.key.location
        }
        return arguments
    }

}

extension Evaluated {
    /// Back to the literal form, to share the literal type rules.
    var asValueExpr: ValueExpr {
        switch self {
        case .int(let v): .int(v)
        case .number(let v): .number(v)
        case .string(let s): .string(s)
        case .bool(let b): .bool(b)
        case .null: .null
        case .mapping: .mapping
        case .list(let items): .list(items.map { Located($0.value.asValueExpr, at: $0.location) })
        }
    }
}

extension LayerArguments {
    func int(_ key: String, default defaultValue: Int) -> Int {
        if case .int(let v) = values[key]?.value { return v }
        return defaultValue
    }

    func optionalInt(_ key: String) -> Int? {
        if case .int(let v) = values[key]?.value { return v }
        return nil
    }

    func pair(_ key: String, default defaultValue: Pair) -> Pair {
        optionalPair(key) ?? defaultValue
    }

    func optionalPair(_ key: String) -> Pair? {
        switch values[key]?.value {
        case .int(let v): return Pair(square: v)
        case .list(let items):
            guard items.count == 2, case .int(let h) = items[0].value, case .int(let w) = items[1].value else {
                return nil
            }
            return Pair(h, w)
        default: return nil
        }
    }

    func bool(_ key: String, default defaultValue: Bool) -> Bool {
        if case .bool(let v) = values[key]?.value { return v }
        return defaultValue
    }

    func number(_ key: String, default defaultValue: Double) -> Double {
        switch values[key]?.value {
        case .number(let v): return v
        case .int(let v): return Double(v)
        default: return defaultValue
        }
    }

    func string(_ key: String) -> String? {
        switch values[key]?.value {
        case .string(let s): return s
        case .int(let v): return String(v)
        default: return nil
        }
    }

    func strings(_ key: String) -> [Located<String>]? {
        guard case .list(let items) = values[key]?.value else { return nil }
        return items.compactMap { item in
            switch item.value {
            case .string(let s): Located(s, at: item.location)
            case .int(let v): Located(String(v), at: item.location)
            default: nil
            }
        }
    }

    func activation(_ key: String = "activation") -> Activation? {
        string(key).flatMap(LayerKind.init(rawValue:)).flatMap { Activation($0) }
    }

    /// Padding as written: an integer, [h, w], [top, bottom, left, right]; `same` and `valid` are resolved by the
    /// caller, which knows the kernel and input.
    enum PaddingSpelling {
        case explicit(Padding)
        case same
        case valid
    }

    func padding(_ key: String = "padding") -> PaddingSpelling {
        switch values[key]?.value {
        case .int(let v): return .explicit(Padding(top: v, bottom: v, left: v, right: v))
        case .string("same"): return .same
        case .string("valid"): return .valid
        case .list(let items):
            let numbers = items.compactMap { item -> Int? in
                if case .int(let v) = item.value { return v }
                return nil
            }
            if numbers.count == 2 {
                return .explicit(Padding(top: numbers[0], bottom: numbers[0], left: numbers[1], right: numbers[1]))
            }
            if numbers.count == 4 {
                return .explicit(Padding(top: numbers[0], bottom: numbers[1], left: numbers[2], right: numbers[3]))
            }
            return .explicit(.zero)
        default: return .explicit(.zero)
        }
    }
}
