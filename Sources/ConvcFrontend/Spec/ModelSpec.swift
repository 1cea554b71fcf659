// The spec as the user wrote it: layers, blocks and values with their locations, nothing evaluated yet.

import ConvcDiagnostics

/// An integer expression inside a block: `$filters * 4`, `($width + 1) / 2`.
public indirect enum Expr: Hashable, Sendable {
    case int(Int)
    case variable(String, SourceLocation)
    case negate(Expr)
    case binary(BinaryOperator, Expr, Expr)

    public enum BinaryOperator: String, Hashable, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", remainder = "%"
    }
}

/// A value as written: a literal, a list, or an expression over block parameters.
public indirect enum ValueExpr: Hashable, Sendable {
    case int(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([Located<ValueExpr>])
    case expr(Expr)
    /// Text with substitutions: `denselayer${i + 1}`, `block$n`.
    case template([TemplatePart])
    /// A mapping where a scalar or list was expected; kept so the checker can say what it found.
    case mapping
}

/// A piece of a template string.
public enum TemplatePart: Hashable, Sendable {
    case text(String)
    case expr(Expr)
}

/// One `key: value` argument of a layer.
public struct ArgumentSpec: Hashable, Sendable {
    public var key: Located<String>
    public var value: Located<ValueExpr>
}

/// How a residual block's shortcut is built.
public enum ShortcutSpec: Hashable, Sendable {
    case identity
    /// Projection only when the body changes the shape.
    case auto
    case projection
    case layers([LayerSpec])
}

/// Layers nested inside a structural layer.
public enum LayerChildren: Hashable, Sendable {
    case none
    /// `group` and `repeat`.
    case sequence([LayerSpec])
    case residual(body: [LayerSpec], shortcut: Located<ShortcutSpec>)
    /// `concat` with `branches`: each branch runs on the same input; an empty branch is the input itself.
    case branches([Located<[LayerSpec]>])
}

/// One item of a `layers:` list: a layer kind or a block instance, with its arguments.
public struct LayerSpec: Hashable, Sendable {
    public var kind: Located<String>
    /// Arguments in the order written, without the structural keys (`layers`, `body`, `shortcut`, `branches`).
    public var arguments: [ArgumentSpec]
    public var children: LayerChildren
    /// True when `kind` names a block of the spec rather than a built-in layer kind.
    public var isBlockInstance: Bool
    /// Where the item starts (the `-` entry).
    public var location: SourceLocation
    /// False when decoding already reported an error here; the checker then passes on a poisoned value,
    /// so the one mistake is not reported again downstream.
    public var isValid: Bool = true

    public func argument(_ key: String) -> ArgumentSpec? { arguments.first { $0.key.value == key } }
}

/// A named, parameterised block: `basic(filters, stride = 1)`.
public struct BlockSpec: Hashable, Sendable {
    public struct Parameter: Hashable, Sendable {
        public var name: String
        public var defaultValue: Located<ValueExpr>?
        public var location: SourceLocation
    }
    public var name: String
    public var parameters: [Parameter]
    public var body: [LayerSpec]
    /// A transparent block has no naming scope: its layers are named where it is instantiated, as if written
    /// there (a helper that returns layers for an `nn.Sequential`, not a module of its own).
    public var transparent: Bool = false
    public var location: SourceLocation
}

/// What `convc check` verifies against the computed model.
public struct ExpectSpec: Hashable, Sendable {
    public var params: Located<Int>?
    public var nonTrainable: Located<Int>?
    public var macs: Located<Int>?
    public var output: Located<[Int]>?
}

/// A whole spec file.
public struct ModelSpec: Hashable, Sendable {
    public var name: String
    public var input: Located<[Int]>
    public var expect: ExpectSpec
    /// Default arguments per layer kind, e.g. `conv: { kernel: 3, padding: 1 }`.
    public var defaults: [String: [ArgumentSpec]]
    public var blocks: [String: BlockSpec]
    public var layers: [LayerSpec]
    public var location: SourceLocation
}
