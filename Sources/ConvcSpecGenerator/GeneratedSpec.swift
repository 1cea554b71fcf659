// A spec as a value tree, and its YAML text: generation and reduction edit the tree, never the text.

/// One generated spec: a model name and the tree it renders from. Aims at being cheap to keep, compare and
/// shrink: the YAML is rendered on demand, and `smaller()` (Reduction.swift) edits the tree.
public struct GeneratedSpec: Sendable, Hashable {
    public var name: String
    var tree: SpecTree

    init(name: String, tree: SpecTree) {
        self.name = name
        self.tree = tree
    }

    /// The spec text convc reads.
    public var yaml: String {
        var copy = tree
        copy.model = name
        return renderYAML(copy)
    }

    /// Top-level statements, used by a reducer to report size.
    public var layerCount: Int { tree.layers.count }
}

// MARK: The tree

/// An integer expression over block parameters (`$width * 4`, `($k - 1) // 2`), kept as a tree so that the
/// checker in this module evaluates exactly what is rendered.
indirect enum SpecExpr: Hashable, Sendable {
    case int(Int)
    case parameter(String)
    case binary(Operator, SpecExpr, SpecExpr)

    enum Operator: String, Hashable, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", remainder = "%"

        var precedence: Int { self == .add || self == .subtract ? 1 : 2 }
    }
}

/// A piece of a name template such as `layer$i` or `block${i + 1}`.
enum TemplatePiece: Hashable, Sendable {
    case text(String)
    case parameter(String)
    case expr(SpecExpr)
}

/// An argument value as written: a literal, an expression, or a template.
indirect enum SpecValue: Hashable, Sendable {
    case int(Int)
    case number(Double)
    case bool(Bool)
    case text(String)
    case list([SpecValue])
    case expr(SpecExpr)
    case template([TemplatePiece])
}

/// `key: value` in a layer's arguments, in the order written.
struct SpecArgument: Hashable, Sendable {
    var key: String
    var value: SpecValue

    init(_ key: String, _ value: SpecValue) {
        self.key = key
        self.value = value
    }
}

/// A residual's `shortcut:` as written (`omitted` leaves the key out: identity).
enum SpecShortcut: Hashable, Sendable {
    case omitted, identity, auto, projection
    case layers([SpecNode])
}

/// One entry of a layer list.
indirect enum SpecNode: Hashable, Sendable {
    /// A built-in leaf kind (including `add` and `concat: { inputs: … }`); no arguments renders as the bare kind.
    case layer(kind: String, arguments: [SpecArgument])
    /// A block instance: `name`/`input` and the block's parameters.
    case instance(block: String, arguments: [SpecArgument])
    /// `group: { name, input, layers }`, or `group: [ … ]` when `short` (no arguments then).
    case group(arguments: [SpecArgument], layers: [SpecNode], short: Bool)
    /// `repeat: { count, index, start, layers }`.
    case repeated(arguments: [SpecArgument], layers: [SpecNode])
    case residual(arguments: [SpecArgument], body: [SpecNode], shortcut: SpecShortcut)
    /// `concat: { name, input, branches }`, or `concat: [ … ]` when `short`; an empty branch is the input.
    case concat(arguments: [SpecArgument], branches: [[SpecNode]], short: Bool)

    var arguments: [SpecArgument] {
        switch self {
        case .layer(_, let a), .instance(_, let a), .group(let a, _, _), .repeated(let a, _), .residual(let a, _, _),
            .concat(let a, _, _):
            a
        }
    }

    func argument(_ key: String) -> SpecValue? { arguments.first { $0.key == key }?.value }

    /// The same node with `key` set (replaced in place, or appended; a short form becomes the long one).
    func setting(_ key: String, _ value: SpecValue?) -> SpecNode {
        func apply(_ arguments: [SpecArgument]) -> [SpecArgument] {
            var arguments = arguments
            if let index = arguments.firstIndex(where: { $0.key == key }) {
                if let value { arguments[index].value = value } else { arguments.remove(at: index) }
            } else if let value {
                // name and input first, as people write them.
                let position = key == "name" ? 0 : key == "input" ? (arguments.first?.key == "name" ? 1 : 0) : arguments.count
                arguments.insert(SpecArgument(key, value), at: position)
            }
            return arguments
        }
        switch self {
        case .layer(let kind, let a): return .layer(kind: kind, arguments: apply(a))
        case .instance(let block, let a): return .instance(block: block, arguments: apply(a))
        case .group(let a, let layers, _):
            let updated = apply(a)
            return .group(arguments: updated, layers: layers, short: updated.isEmpty)
        case .repeated(let a, let layers): return .repeated(arguments: apply(a), layers: layers)
        case .residual(let a, let body, let shortcut): return .residual(arguments: apply(a), body: body, shortcut: shortcut)
        case .concat(let a, let branches, _):
            let updated = apply(a)
            return .concat(arguments: updated, branches: branches, short: updated.isEmpty)
        }
    }

    /// The kind word the node is written with.
    var kind: String {
        switch self {
        case .layer(let kind, _): kind
        case .instance(let block, _): block
        case .group: "group"
        case .repeated: "repeat"
        case .residual: "residual"
        case .concat: "concat"
        }
    }
}

/// A block parameter, with its default as written (which may use earlier parameters).
struct BlockParameter: Hashable, Sendable {
    var name: String
    var defaultValue: SpecValue?
}

/// `name(param, other = default): [ …layers… ]`.
struct BlockDefinition: Hashable, Sendable {
    var name: String
    var parameters: [BlockParameter]
    var body: [SpecNode]
}

/// `expect:` figures, filled in by this module's own checker so that `convc check` compares its counts with ours.
struct Expectation: Hashable, Sendable {
    var params: Int
    var nonTrainable: Int
    var macs: Int
    var output: [Int]
}

/// One `defaults:` entry: arguments every layer of `kind` receives unless it sets them.
struct KindDefaults: Hashable, Sendable {
    var kind: String
    var arguments: [SpecArgument]
}

/// A whole spec, in the order its YAML is written. Hashable so that a reducer can tell candidates apart.
struct SpecTree: Hashable, Sendable {
    var model: String
    var description: String?
    var input: [Int]
    var expect: Expectation?
    var defaults: [KindDefaults] = []
    var blocks: [BlockDefinition] = []
    var layers: [SpecNode] = []
}

// MARK: YAML

/// The YAML text: block style for structure, flow mappings for a leaf's arguments, as the reference specs are
/// written; strings are quoted wherever plain YAML would read them differently.
func renderYAML(_ tree: SpecTree) -> String {
    var out = ""
    out += "model: \(scalar(tree.model))\n"
    if let description = tree.description { out += "description: \(quoted(description))\n" }
    out += "input: [\(tree.input.map(String.init).joined(separator: ", "))]\n"
    if let e = tree.expect {
        out += "expect: { params: \(e.params), non_trainable: \(e.nonTrainable), macs: \(e.macs), output: [\(e.output.map(String.init).joined(separator: ", "))] }\n"
    }
    if !tree.defaults.isEmpty {
        out += "defaults:\n"
        for entry in tree.defaults { out += "  \(entry.kind): \(flowMapping(entry.arguments))\n" }
    }
    if !tree.blocks.isEmpty {
        out += "blocks:\n"
        for block in tree.blocks {
            let parameters = block.parameters.map { p in
                p.defaultValue.map { "\(p.name) = \(render($0, inFlow: false, asDefault: true))" } ?? p.name
            }
            out += "  \(quoted("\(block.name)(\(parameters.joined(separator: ", ")))")):"
            renderList(block.body, indent: 4, into: &out)
        }
    }
    out += "layers:"
    renderList(tree.layers, indent: 2, into: &out)
    return out
}

/// A list after `key:` on the same line: ` []` or a newline and its items.
private func renderList(_ nodes: [SpecNode], indent: Int, into out: inout String) {
    if nodes.isEmpty {
        out += " []\n"
        return
    }
    out += "\n"
    for node in nodes { renderItem(node, indent: indent, into: &out) }
}

/// `- node` at `indent`.
private func renderItem(_ node: SpecNode, indent: Int, into out: inout String) {
    let pad = String(repeating: " ", count: indent)
    out += pad + "- "
    renderNode(node, indent: indent + 2, into: &out)
}

/// A node whose first line continues the current one; continuation lines at `indent`.
private func renderNode(_ node: SpecNode, indent: Int, into out: inout String) {
    let inner = String(repeating: " ", count: indent + 2)
    switch node {
    case .layer(let kind, let arguments), .instance(let kind, let arguments):
        out += arguments.isEmpty ? "\(kind)\n" : "\(kind): \(flowMapping(arguments))\n"
    case .group(let arguments, let layers, let short):
        if short && arguments.isEmpty {
            out += "group:"
            renderList(layers, indent: indent + 2, into: &out)
        } else {
            out += "group:\n"
            for argument in arguments { out += inner + "\(argument.key): \(render(argument.value))\n" }
            out += inner + "layers:"
            renderList(layers, indent: indent + 4, into: &out)
        }
    case .repeated(let arguments, let layers):
        out += "repeat:\n"
        for argument in arguments { out += inner + "\(argument.key): \(render(argument.value))\n" }
        out += inner + "layers:"
        renderList(layers, indent: indent + 4, into: &out)
    case .residual(let arguments, let body, let shortcut):
        out += "residual:\n"
        for argument in arguments { out += inner + "\(argument.key): \(render(argument.value))\n" }
        out += inner + "body:"
        renderList(body, indent: indent + 4, into: &out)
        switch shortcut {
        case .omitted: break
        case .identity: out += inner + "shortcut: identity\n"
        case .auto: out += inner + "shortcut: auto\n"
        case .projection: out += inner + "shortcut: projection\n"
        case .layers(let layers):
            out += inner + "shortcut:"
            renderList(layers, indent: indent + 4, into: &out)
        }
    case .concat(let arguments, let branches, let short):
        let branchIndent: Int
        if short && arguments.isEmpty {
            out += "concat:\n"
            branchIndent = indent + 2
        } else {
            out += "concat:\n"
            for argument in arguments { out += inner + "\(argument.key): \(render(argument.value))\n" }
            out += inner + "branches:\n"
            branchIndent = indent + 4
        }
        let branchPad = String(repeating: " ", count: branchIndent)
        for branch in branches {
            if branch.count == 1 {
                renderItem(branch[0], indent: branchIndent, into: &out)
            } else if branch.isEmpty {
                out += branchPad + "- []\n"
            } else {
                // A list item that is itself a list: `- - a` then `  - b`.
                out += branchPad + "- "
                for (i, child) in branch.enumerated() {
                    if i > 0 { out += branchPad + "  - " } else { out += "- " }
                    renderNode(child, indent: branchIndent + 4, into: &out)
                }
            }
        }
    }
}

private func flowMapping(_ arguments: [SpecArgument]) -> String {
    "{ " + arguments.map { "\($0.key): \(render($0.value))" }.joined(separator: ", ") + " }"
}

/// A value in flow context (inside `{ }` or `[ ]`), where `,[]{}` end a plain scalar.
private func render(_ value: SpecValue, inFlow: Bool = true, asDefault: Bool = false) -> String {
    switch value {
    case .int(let v): return String(v)
    case .number(let v): return v.description
    case .bool(let b): return b ? "true" : "false"
    case .text(let s): return asDefault ? s : scalar(s)
    case .list(let items): return "[" + items.map { render($0) }.joined(separator: ", ") + "]"
    case .expr(let e): return renderExpr(e)
    case .template(let pieces):
        let text = pieces.map { piece -> String in
            switch piece {
            case .text(let t): t
            case .parameter(let p): "$" + p
            case .expr(let e): "${" + renderExpr(e, bare: true) + "}"
            }
        }.joined()
        return asDefault ? text : scalar(text)
    }
}

/// Swift precedence, parentheses only where needed; `bare` writes parameters without `$` (inside `${…}`).
func renderExpr(_ e: SpecExpr, parent: SpecExpr.Operator? = nil, rightSide: Bool = false, bare: Bool = false) -> String {
    switch e {
    case .int(let v): return v < 0 ? "(\(v))" : String(v)
    case .parameter(let p): return bare ? p : "$" + p
    case .binary(let op, let a, let b):
        let text = renderExpr(a, parent: op, bare: bare) + " \(op.rawValue) "
            + renderExpr(b, parent: op, rightSide: true, bare: bare)
        guard let parent else { return text }
        let needs = op.precedence < parent.precedence || (rightSide && op.precedence == parent.precedence)
        return needs ? "(\(text))" : text
    }
}

/// Plain where YAML and convc read it back as the same text; double-quoted otherwise.
private func scalar(_ s: String) -> String {
    let reserved: Set<String> = ["true", "false", "True", "False", "TRUE", "FALSE", "null", "Null", "NULL", "~", "yes", "no"]
    let safe = !s.isEmpty && !reserved.contains(s)
        && s.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "$" }
        && !(s.unicodeScalars.first.map { ("0"..."9").contains($0) } ?? true)
    return safe ? s : quoted(s)
}

private func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
