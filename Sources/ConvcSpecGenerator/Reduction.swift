// Smaller variants of a spec for delta debugging, made on the tree: statements removed with their readers
// rewired, structures replaced by their contents, branches removed, repeats shortened, the input shrunk, keys
// dropped. Each candidate is checked here too, and its `expect:` recomputed, so the caller mostly gets valid ones.

extension GeneratedSpec {
    /// Smaller candidate specs for a reducer, most-shrinking first. Each has one edit: a top-level statement (or
    /// a run of them) or a nested layer removed, with references to it rewired to what it read; a structure
    /// replaced by its body, shortcut or one branch; a block instance inlined; a branch removed; a repeat count
    /// lowered; the input map or channels shrunk; an optional key, a default or an unused block dropped.
    /// Candidates this module's checker rejects are left out; the caller still checks with the front end.
    public func smaller() -> [GeneratedSpec] {
        var seen: Set<SpecTree> = [tree]
        var kept: [(tree: SpecTree, layers: Int, length: Int, order: Int)] = []
        for (order, var candidate) in candidateTrees().enumerated() {
            candidate.expect = nil
            guard seen.insert(candidate).inserted else { continue }
            let result = checkTree(candidate)
            guard result.ok, let output = result.output else { continue }
            if tree.expect != nil {
                candidate.expect = Expectation(params: result.params, nonTrainable: result.nonTrainable, macs: result.macs, output: output.dims)
            }
            kept.append((candidate, result.layers, renderYAML(candidate).utf8.count, order))
        }
        kept.sort { ($0.layers, $0.length, $0.order) < ($1.layers, $1.length, $1.order) }
        return kept.map { GeneratedSpec(name: name, tree: $0.tree) }
    }
}

extension GeneratedSpec {
    /// Every candidate before checking (some invalid), without `expect:`: for measuring the checker's agreement.
    func candidateTrees() -> [SpecTree] {
        var reducer = Reducer(tree: tree)
        return reducer.candidates().map { candidate in
            var candidate = candidate
            candidate.expect = nil
            return candidate
        }
    }
}

/// How references to a removed or dissolved layer are rewritten.
private enum Rename {
    /// `name` and `name.x` become `value`.
    case replace(String, SpecValue)
    /// `prefix.x` becomes `x` (a group or block instance dissolved into its parent).
    case stripPrefix(String)
}

/// One list edited, and the renames the rest of the tree needs.
private struct Edit {
    var nodes: [SpecNode]
    var renames: [Rename] = []
}

/// Makes the candidates. Names it invents (`cut1`, …) avoid every name in the spec.
private struct Reducer {
    var tree: SpecTree
    var allNames: Set<String> = []
    /// Names some layer reads (`input`, `inputs`, `indices`, a block's `pool`), with their prefixes.
    var referenced: Set<String> = []
    var counter = 0

    init(tree: SpecTree) {
        self.tree = tree
        for node in tree.layers { collectNames(node) }
        for node in tree.layers {
            for name in references(node) {
                var prefix = ""
                for part in name.split(separator: ".") {
                    prefix += (prefix.isEmpty ? "" : ".") + part
                    referenced.insert(prefix)
                }
            }
        }
        for block in tree.blocks { for node in block.body { collectNames(node) } }
    }

    mutating func collectNames(_ node: SpecNode) {
        if let name = textOf(node.argument("name")) { allNames.insert(name) }
        for list in childLists(node) { for child in list { collectNames(child) } }
    }

    mutating func freshName() -> String {
        while true {
            counter += 1
            let name = "cut\(counter)"
            if !allNames.contains(name) {
                allNames.insert(name)
                return name
            }
        }
    }

    mutating func candidates() -> [SpecTree] {
        var out: [SpecTree] = []
        let top = tree.layers
        // Runs of top-level statements (halves, quarters, eighths), then single ones.
        var size = top.count / 2
        while size >= 2 {
            var start = 0
            while start + size <= top.count {
                if start > 0 || start + size < top.count, let t = removingTopLevel(Array(start..<(start + size))) { out.append(t) }
                start += size
            }
            size /= 2
        }
        // A pool together with the unpools that read its indices.
        for (i, node) in top.enumerated() {
            guard let name = textOf(node.argument("name")) else { continue }
            let readers = top.indices.filter { j in j > i && references(top[j]).contains { $0 == name || $0.hasPrefix(name + ".") } && isUnpool(top[j]) }
            if !readers.isEmpty, let t = removingTopLevel([i] + readers) { out.append(t) }
        }
        // Every edit in every list, top level first.
        for edit in listEdits(top, listInput: .text("input")) {
            var t = tree
            t.layers = edit.nodes
            out.append(apply(edit.renames, to: t))
        }
        // The input.
        let input = tree.input
        if input.count == 3 {
            let (c, h, w) = (input[0], input[1], input[2])
            if h > 1 || w > 1 { out.append(with(input: [c, (h + 1) / 2, (w + 1) / 2])) }
            if h > 1 && w > 1 { out.append(with(input: [c, h - 1, w - 1])) }
            if h > 1 && w > 1 { out.append(with(input: [c, h - 2 + (h == 2 ? 1 : 0), w - 2 + (w == 2 ? 1 : 0)])) }
            if c > 1 { out.append(with(input: [(c + 1) / 2, h, w])) }
            if c > 1 { out.append(with(input: [1, h, w])) }
        } else if input.count == 1, input[0] > 1 {
            out.append(with(input: [(input[0] + 1) / 2]))
        }
        // Defaults, unused blocks, the description.
        for i in tree.defaults.indices {
            var t = tree
            t.defaults.remove(at: i)
            out.append(t)
        }
        for (i, block) in tree.blocks.enumerated() where !isInstantiated(block.name) {
            var t = tree
            t.blocks.remove(at: i)
            out.append(t)
        }
        if tree.description != nil {
            var t = tree
            t.description = nil
            out.append(t)
        }
        return out
    }

    func with(input: [Int]) -> SpecTree {
        var t = tree
        t.input = input
        return t
    }

    func isUnpool(_ node: SpecNode) -> Bool {
        if case .layer("max_unpool", _) = node { return true }
        for list in childLists(node) where list.contains(where: isUnpool) { return true }
        return false
    }

    func isInstantiated(_ block: String) -> Bool {
        func uses(_ node: SpecNode) -> Bool {
            if case .instance(let b, _) = node, b == block { return true }
            return childLists(node).contains { $0.contains(where: uses) }
        }
        return tree.layers.contains(where: uses) || tree.blocks.contains { $0.body.contains(where: uses) }
    }

    /// Removes top-level statements (highest first), rewiring after each.
    mutating func removingTopLevel(_ indices: [Int]) -> SpecTree? {
        var t = tree
        for i in Set(indices).sorted(by: >) {
            guard i < t.layers.count else { return nil }
            let edit = removing(t.layers, at: i, listInput: .text("input"))
            t.layers = edit.nodes
            t = apply(edit.renames, to: t)
        }
        return t.layers.isEmpty ? nil : t
    }

    // MARK: Edits of one list

    /// Every single edit of `nodes` or of a list nested in them.
    mutating func listEdits(_ nodes: [SpecNode], listInput: SpecValue?) -> [Edit] {
        var edits: [Edit] = []
        for (i, node) in nodes.enumerated() {
            let nodeInput = node.argument("input") ?? (i > 0 ? textOf(nodes[i - 1].argument("name")).map(SpecValue.text) : listInput)
            if nodes.count > 1 { edits.append(removing(nodes, at: i, listInput: listInput)) }
            for replacement in dissolutions(node) {
                edits.append(splice(nodes, at: i, replacement.nodes, extraRenames: replacement.renames, input: node.argument("input")))
            }
            for changed in simplifications(node) {
                var copy = nodes
                copy[i] = changed
                edits.append(Edit(nodes: copy))
            }
            // Edits inside the node's own lists.
            for (listIndex, list) in childLists(node).enumerated() {
                let inner: SpecValue? = isScopeOrTransparent(node) ? nodeInput : nil
                for edit in listEdits(list, listInput: inner) {
                    var copy = nodes
                    copy[i] = replacingChildList(node, listIndex, edit.nodes)
                    edits.append(Edit(nodes: copy, renames: edit.renames))
                }
            }
        }
        return edits
    }

    func isScopeOrTransparent(_ node: SpecNode) -> Bool {
        if case .instance = node { return false }
        return true
    }

    /// `nodes` without its `i`th entry; what read it reads what it read.
    mutating func removing(_ nodes: [SpecNode], at i: Int, listInput: SpecValue?) -> Edit {
        var nodes = nodes
        let removed = nodes.remove(at: i)
        let explicit = removed.argument("input")
        var substitute = explicit
        // Only a removed layer that others read needs a name for what it read.
        let exported = exportedNames(removed)
        if substitute == nil, exported.contains(where: referenced.contains) {
            if i > 0 {
                if let name = textOf(nodes[i - 1].argument("name")) {
                    substitute = nodes[i - 1].argument("name") ?? .text(name)
                } else if canBeNamed(nodes[i - 1]) {
                    let name = freshName()
                    nodes[i - 1] = nodes[i - 1].setting("name", .text(name))
                    substitute = .text(name)
                }
            } else {
                substitute = listInput
            }
        }
        if i < nodes.count, let explicit, nodes[i].argument("input") == nil, canTakeInput(nodes[i]) {
            nodes[i] = nodes[i].setting("input", explicit)
        }
        var renames: [Rename] = []
        if let substitute, exported.contains(where: referenced.contains) {
            for name in exported { renames.append(.replace(name, substitute)) }
            // What now stands for the removed layer is read in its place (a later removal must rewire it too).
            if let text = textOf(substitute) { referenced.insert(text) }
        }
        return Edit(nodes: nodes, renames: renames)
    }

    /// Replaces entry `i` by `replacement`, keeping what read it (the last replacement layer takes its name).
    mutating func splice(_ nodes: [SpecNode], at i: Int, _ replacement: [SpecNode], extraRenames: [Rename], input: SpecValue?) -> Edit {
        let original = nodes[i]
        if replacement.isEmpty {
            var edit = removing(nodes, at: i, listInput: input)
            edit.renames = extraRenames + edit.renames
            return edit
        }
        var replacement = replacement
        var renames = extraRenames
        if let input, replacement[0].argument("input") == nil, canTakeInput(replacement[0]) {
            replacement[0] = replacement[0].setting("input", input)
        }
        if let ownName = original.argument("name") {
            let last = replacement.count - 1
            if replacement[last].argument("name") == nil, canBeNamed(replacement[last]) {
                replacement[last] = replacement[last].setting("name", ownName)
            } else if let lastName = replacement[last].argument("name"), let own = textOf(ownName) {
                renames.append(.replace(own, lastName))
            }
        }
        var copy = nodes
        copy.replaceSubrange(i...i, with: replacement)
        return Edit(nodes: copy, renames: renames)
    }

    /// Ways to replace a structure by its contents.
    mutating func dissolutions(_ node: SpecNode) -> [(nodes: [SpecNode], renames: [Rename])] {
        switch node {
        case .group(_, let layers, _):
            let renames: [Rename] = textOf(node.argument("name")).map { [.stripPrefix($0)] } ?? []
            return [(layers, renames)]
        case .residual(_, let body, let shortcut):
            var out: [([SpecNode], [Rename])] = [(body, [])]
            if case .layers(let l) = shortcut { out.append((l, [])) }
            return out
        case .concat(_, let branches, _):
            return branches.map { ($0, []) }
        case .repeated(let arguments, let layers):
            // One copy, its index bound to the start.
            let start: Int = if case .int(let v)? = arguments.first(where: { $0.key == "start" })?.value { v } else { 0 }
            if case .text(let index)? = arguments.first(where: { $0.key == "index" })?.value {
                return [(layers.map { substitute($0, [index: .int(start)]) }, [])]
            }
            return [(layers, [])]
        case .instance(let blockName, let arguments):
            guard let block = tree.blocks.first(where: { $0.name == blockName }) else { return [] }
            var environment: [String: SpecValue] = [:]
            for argument in arguments where argument.key != "name" && argument.key != "input" { environment[argument.key] = argument.value }
            for parameter in block.parameters where environment[parameter.name] == nil {
                if let d = parameter.defaultValue { environment[parameter.name] = substitute(d, environment) }
            }
            let body = block.body.map { substitute($0, environment) }
            // A block instance is a scope: inline it as a group of the same name (its inner names keep their paths).
            var groupArguments: [SpecArgument] = []
            if let name = node.argument("name") { groupArguments.append(SpecArgument("name", name)) }
            return [([.group(arguments: groupArguments, layers: body, short: groupArguments.isEmpty)], [])]
        case .layer:
            return []
        }
    }

    /// The same node made simpler in place.
    func simplifications(_ node: SpecNode) -> [SpecNode] {
        var out: [SpecNode] = []
        switch node {
        case .layer(let kind, let arguments):
            let required: Set<String> = ["kernel", "filters", "units", "channels", "indices", "size", "like", "scale", "output", "inputs", "name", "input"]
            for argument in arguments where !required.contains(argument.key) || (kind == "conv" && argument.key == "filters" && arguments.contains { $0.key == "depthwise" }) {
                out.append(.layer(kind: kind, arguments: arguments.filter { $0.key != argument.key }))
            }
            if kind == "concat" || kind == "add", case .list(let items)? = node.argument("inputs"), items.count > (kind == "add" ? 2 : 1) {
                for j in items.indices {
                    var fewer = items
                    fewer.remove(at: j)
                    out.append(node.setting("inputs", .list(fewer)))
                }
            }
        case .repeated(let arguments, let layers):
            if case .int(let count)? = node.argument("count") {
                var lower: [Int] = []
                if count > 1 { lower.append(count - 1) }
                if count > 2 { lower.append(1) }
                if count > 0 { lower.append(0) }
                for c in lower {
                    out.append(.repeated(arguments: arguments.map { $0.key == "count" ? SpecArgument("count", .int(c)) : $0 }, layers: layers))
                }
            }
        case .residual(let arguments, let body, let shortcut):
            if shortcut != .omitted { out.append(.residual(arguments: arguments, body: body, shortcut: .omitted)) }
            if case .layers = shortcut { out.append(.residual(arguments: arguments, body: body, shortcut: .auto)) }
        case .concat(let arguments, let branches, let short):
            if branches.count > 1 {
                for j in branches.indices {
                    var fewer = branches
                    fewer.remove(at: j)
                    out.append(.concat(arguments: arguments, branches: fewer, short: short))
                }
            }
        case .instance(let block, let arguments):
            for argument in arguments where argument.key != "name" && argument.key != "input" {
                if let definition = tree.blocks.first(where: { $0.name == block }),
                    definition.parameters.contains(where: { $0.name == argument.key && $0.defaultValue != nil })
                {
                    out.append(.instance(block: block, arguments: arguments.filter { $0.key != argument.key }))
                }
            }
        case .group:
            break
        }
        return out
    }

    // MARK: Tree helpers

    func childLists(_ node: SpecNode) -> [[SpecNode]] {
        switch node {
        case .layer, .instance: []
        case .group(_, let layers, _), .repeated(_, let layers): [layers]
        case .residual(_, let body, let shortcut):
            if case .layers(let l) = shortcut { [body, l] } else { [body] }
        case .concat(_, let branches, _): branches
        }
    }

    func replacingChildList(_ node: SpecNode, _ index: Int, _ list: [SpecNode]) -> SpecNode {
        switch node {
        case .layer, .instance: return node
        case .group(let a, _, let short): return .group(arguments: a, layers: list, short: short)
        case .repeated(let a, _): return .repeated(arguments: a, layers: list)
        case .residual(let a, let body, let shortcut):
            if index == 0 { return .residual(arguments: a, body: list, shortcut: shortcut) }
            return .residual(arguments: a, body: body, shortcut: .layers(list))
        case .concat(let a, var branches, let short):
            branches[index] = list
            return .concat(arguments: a, branches: branches, short: short)
        }
    }

    func canBeNamed(_ node: SpecNode) -> Bool {
        if case .repeated = node { return false }
        return true
    }

    func canTakeInput(_ node: SpecNode) -> Bool { canBeNamed(node) }

    /// Names other statements may use for `node`: its own (which also prefixes names inside it) and those of
    /// layers inside transparent structures.
    func exportedNames(_ node: SpecNode) -> [String] {
        var names: [String] = []
        if let own = textOf(node.argument("name")) { names.append(own) }
        switch node {
        case .residual, .concat, .repeated:
            for list in childLists(node) { for child in list { names += exportedNames(child) } }
        default: break
        }
        return names
    }

    /// Every name `node` reads.
    func references(_ node: SpecNode) -> [String] {
        var out: [String] = []
        for key in ["input", "indices", "like"] { if let t = textOf(node.argument(key)) { out.append(t) } }
        if case .list(let items)? = node.argument("inputs") { out += items.compactMap(textOf) }
        if case .instance = node, let t = textOf(node.argument("pool")) { out.append(t) }
        for list in childLists(node) { for child in list { out += references(child) } }
        return out
    }

    func apply(_ renames: [Rename], to tree: SpecTree) -> SpecTree {
        guard !renames.isEmpty else { return tree }
        var t = tree
        t.layers = t.layers.map { rewrite($0, renames) }
        return t
    }

    func rewrite(_ node: SpecNode, _ renames: [Rename]) -> SpecNode {
        func renamed(_ value: SpecValue) -> SpecValue {
            guard let text = textOf(value) else { return value }
            for rename in renames {
                switch rename {
                case .replace(let name, let to):
                    if text == name || text.hasPrefix(name + ".") { return to }
                case .stripPrefix(let prefix):
                    if text.hasPrefix(prefix + ".") { return .text(String(text.dropFirst(prefix.count + 1))) }
                }
            }
            return value
        }
        var node = node
        for key in ["input", "indices", "like"] { if let v = node.argument(key) { node = node.setting(key, renamed(v)) } }
        if case .list(let items)? = node.argument("inputs") { node = node.setting("inputs", .list(items.map(renamed))) }
        if case .instance = node, let v = node.argument("pool") { node = node.setting("pool", renamed(v)) }
        for (index, list) in childLists(node).enumerated() {
            node = replacingChildList(node, index, list.map { rewrite($0, renames) })
        }
        return node
    }
}

/// A name-like value as text (`name: 3` is the name "3").
private func textOf(_ value: SpecValue?) -> String? {
    switch value {
    case .text(let s)?: s
    case .int(let v)?: String(v)
    default: nil
    }
}

// MARK: Parameter substitution (inlining blocks, unrolling a repeat)

private func substitute(_ node: SpecNode, _ environment: [String: SpecValue]) -> SpecNode {
    func args(_ a: [SpecArgument]) -> [SpecArgument] { a.map { SpecArgument($0.key, substitute($0.value, environment)) } }
    func list(_ l: [SpecNode]) -> [SpecNode] { l.map { substitute($0, environment) } }
    switch node {
    case .layer(let kind, let a): return .layer(kind: kind, arguments: args(a))
    case .instance(let block, let a): return .instance(block: block, arguments: args(a))
    case .group(let a, let l, let short): return .group(arguments: args(a), layers: list(l), short: short)
    case .repeated(let a, let l):
        // The repeat's own index shadows an outer parameter of the same name.
        var inner = environment
        if case .text(let index)? = a.first(where: { $0.key == "index" })?.value { inner[index] = nil }
        return .repeated(arguments: args(a), layers: l.map { substitute($0, inner) })
    case .residual(let a, let body, let shortcut):
        let s: SpecShortcut = if case .layers(let l) = shortcut { .layers(list(l)) } else { shortcut }
        return .residual(arguments: args(a), body: list(body), shortcut: s)
    case .concat(let a, let branches, let short):
        return .concat(arguments: args(a), branches: branches.map(list), short: short)
    }
}

private func substitute(_ value: SpecValue, _ environment: [String: SpecValue]) -> SpecValue {
    switch value {
    case .int, .number, .bool, .text: return value
    case .list(let items): return .list(items.map { substitute($0, environment) })
    case .expr(.parameter(let p)):
        return environment[p] ?? value
    case .expr(let e):
        let replaced = substitute(e, environment)
        if let v = constant(replaced) { return .int(v) }
        return .expr(replaced)
    case .template(let pieces):
        var out: [TemplatePiece] = []
        for piece in pieces {
            switch piece {
            case .text: out.append(piece)
            case .parameter(let p):
                switch environment[p] {
                case .int(let v)?: out.append(.text(String(v)))
                case .text(let s)?: out.append(.text(s))
                case let other?:
                    if case .expr(let e) = other { out.append(.expr(e)) } else { out.append(piece) }
                case nil: out.append(piece)
                }
            case .expr(let e):
                let replaced = substitute(e, environment)
                if let v = constant(replaced) { out.append(.text(String(v))) } else { out.append(.expr(replaced)) }
            }
        }
        if out.allSatisfy({ if case .text = $0 { true } else { false } }) {
            let text = out.map { if case .text(let t) = $0 { t } else { "" } }.joined()
            if let v = Int(text), String(v) == text { return .int(v) }
            return .text(text)
        }
        return .template(out)
    }
}

private func substitute(_ e: SpecExpr, _ environment: [String: SpecValue]) -> SpecExpr {
    switch e {
    case .int: return e
    case .parameter(let p):
        switch environment[p] {
        case .int(let v)?: return .int(v)
        case .expr(let inner)?: return inner
        default: return e
        }
    case .binary(let op, let a, let b): return .binary(op, substitute(a, environment), substitute(b, environment))
    }
}

/// The value of an expression without parameters (nil if it has some, or does not divide exactly).
private func constant(_ e: SpecExpr) -> Int? {
    switch e {
    case .int(let v): return v
    case .parameter: return nil
    case .binary(let op, let a, let b):
        guard let x = constant(a), let y = constant(b) else { return nil }
        switch op {
        case .add: return x + y
        case .subtract: return x - y
        case .multiply: return x * y
        case .divide: return y != 0 && x % y == 0 ? x / y : nil
        case .floorDivide:
            guard y != 0 else { return nil }
            let q = x / y
            return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q
        case .remainder:
            guard y != 0 else { return nil }
            let m = x % y
            return (m != 0 && (m < 0) != (y < 0)) ? m + y : m
        }
    }
}
