// The front end's rules re-stated over the value tree: names, scopes, blocks, shapes, parameter and MAC counts.
// The generator proposes layers and keeps those this checker accepts, and fills `expect:` from its counts, so
// `convc check` comparing its figures with these is a second opinion on both.

/// C×H×W or [features].
struct TensorShape: Hashable, Sendable {
    var dims: [Int]

    init(_ dims: [Int]) { self.dims = dims }
    static func chw(_ c: Int, _ h: Int, _ w: Int) -> TensorShape { TensorShape([c, h, w]) }

    var isMap: Bool { dims.count == 3 }
    var channels: Int { dims[0] }
    var height: Int { dims.count == 3 ? dims[1] : 1 }
    var width: Int { dims.count == 3 ? dims[2] : 1 }
    var elements: Int { dims.reduce(1, *) }
}

/// What a max_unpool needs of its pool.
struct PoolRecord: Hashable, Sendable {
    var input: TensorShape
    var output: TensorShape
    var kh: Int, kw: Int
}

/// A layer's (or scope's) output as later layers see it.
struct Produced: Hashable, Sendable {
    var shape: TensorShape
    /// Set on a max_pool with `return_indices: true` (and on scopes ending in one).
    var indexedPool: PoolRecord?
}

/// What the checker found: the output and the figures `convc check` prints, or the first error.
struct CheckResult: Sendable {
    var output: TensorShape?
    var error: String?
    var params = 0
    var nonTrainable = 0
    var macs = 0
    /// Layers created, as the front end counts them (the input excluded).
    var layers = 0
    /// Every layer and scope by full dotted name.
    var names: [String: Produced] = [:]
    /// Full names in creation order: dictionaries iterate in a per-process order, which would break determinism.
    var order: [String] = []
    /// Each top-level statement's output.
    var statementOutputs: [TensorShape] = []

    var ok: Bool { error == nil && output != nil }
}

/// An evaluated argument.
enum Evaluated: Hashable, Sendable {
    case int(Int), number(Double), bool(Bool), text(String), list([Evaluated])
}

/// The first error, which ends checking (convc reports more, but one is enough to reject a proposal).
struct CheckFailure: Error {
    var message: String
}

/// The literal types of LayerSchema.swift's ArgumentType, checked after substitution.
enum ArgumentKind: Sendable {
    case integer(Int), pair(Int), padding, bool, number, layerName, layerNames, activation, choice([String])
}

/// The keys of each kind (LayerSchema.swift's table), to catch a generator that writes a key convc refuses.
let layerSchema: [String: [(key: String, type: ArgumentKind, required: Bool)]] = {
    let convKeys: [(String, ArgumentKind, Bool)] = [
        ("kernel", .pair(1), true), ("stride", .pair(1), false), ("dilation", .pair(1), false),
        ("groups", .integer(1), false), ("bias", .bool, false), ("activation", .activation, false),
    ]
    var table: [String: [(String, ArgumentKind, Bool)]] = [
        "conv": [("filters", .integer(1), false), ("padding", .padding, false), ("depthwise", .bool, false)] + convKeys,
        "conv_transpose": [("filters", .integer(1), true), ("padding", .pair(0), false), ("output_padding", .pair(0), false)] + convKeys,
        "max_pool": [
            ("kernel", .pair(1), true), ("stride", .pair(1), false), ("padding", .pair(0), false),
            ("dilation", .pair(1), false), ("ceil_mode", .bool, false), ("return_indices", .bool, false),
        ],
        "avg_pool": [
            ("kernel", .pair(1), true), ("stride", .pair(1), false), ("padding", .pair(0), false),
            ("ceil_mode", .bool, false), ("count_include_pad", .bool, false),
        ],
        "global_avg_pool": [], "global_max_pool": [],
        "adaptive_avg_pool": [("output", .pair(1), true)],
        "max_unpool": [("indices", .layerName, true), ("kernel", .pair(1), false), ("stride", .pair(1), false), ("padding", .pair(0), false)],
        "batch_norm": [("eps", .number, false), ("momentum", .number, false)],
        "local_response_norm": [("size", .integer(1), true), ("alpha", .number, false), ("beta", .number, false), ("k", .number, false)],
        "relu": [], "relu6": [], "sigmoid": [], "tanh": [], "softmax": [], "flatten": [], "identity": [],
        "silu": [], "hardswish": [], "hardsigmoid": [], "gelu": [("approximate", .choice(["none", "tanh"]), false)],
        "leaky_relu": [("slope", .number, false)],
        "prelu": [("per_channel", .bool, false), ("init", .number, false)],
        "dropout": [("rate", .number, false)], "spatial_dropout": [("rate", .number, false)],
        "dense": [("units", .integer(1), true), ("bias", .bool, false), ("activation", .activation, false)],
        "add": [("inputs", .layerNames, false)],
        "concat": [("inputs", .layerNames, false)],
        "channel_pad": [("channels", .integer(1), true)],
        "channel_shuffle": [("groups", .integer(1), true)],
        "multiply": [("inputs", .layerNames, true)],
        "slice": [("start", .integer(0), false), ("end", .integer(1), false)],
        "upsample": [
            ("size", .pair(1), false), ("like", .layerName, false), ("scale", .number, false),
            ("mode", .choice(["nearest", "bilinear"]), false), ("align_corners", .bool, false),
        ],
        "squeeze_excitation": [
            ("squeeze_channels", .integer(1), true), ("activation", .activation, false), ("scale_activation", .activation, false),
        ],
    ]
    return table.mapValues { $0.map { (key: $0.0, type: $0.1, required: $0.2) } + [(key: "name", type: .layerName, required: false), (key: "input", type: .layerName, required: false)] }
}()

/// Built-in kinds, which block names may not take.
let builtinKinds: Set<String> = Set(layerSchema.keys).union(["group", "repeat", "residual"])

/// Checks a tree as `convc check` would (without warnings, which do not fail a spec).
func checkTree(_ tree: SpecTree) -> CheckResult {
    var checker = Checker(tree: tree)
    do {
        let output = try checker.run()
        checker.result.output = output.shape
        if let e = tree.expect {
            let r = checker.result
            if e.params != r.params || e.nonTrainable != r.nonTrainable || e.macs != r.macs || e.output != output.shape.dims {
                checker.result.error = "expect: figures differ from the computed ones"
            }
        }
    } catch let failure as CheckFailure {
        checker.result.error = failure.message
        checker.result.output = nil
    } catch {
        checker.result.error = "\(error)"
    }
    return checker.result
}

/// Names in one scope (a block instance or group), as the front end's NameScope.
private final class Scope {
    let path: [String]
    let numbered: Bool
    var nextIndex = 0
    var reserved: Set<String> = []
    var used: Set<String> = []
    var nextSuffix: [String: Int] = [:]

    init(path: [String], numbered: Bool) {
        self.path = path
        self.numbered = numbered
    }
}

/// The elaboration itself: blocks instantiated, repeats unrolled, names assigned in scopes, shapes and counts
/// inferred, in the front end's order (so auto names and numbering come out the same).
private struct Checker {
    let tree: SpecTree
    var result = CheckResult()
    var defaults: [String: [SpecArgument]] = [:]
    var blocks: [String: BlockDefinition] = [:]
    var blockStack: [String] = []

    init(tree: SpecTree) {
        self.tree = tree
        for entry in tree.defaults { defaults[entry.kind] = entry.arguments }
        for block in tree.blocks { blocks[block.name] = block }
    }

    func fail(_ message: String) -> CheckFailure { CheckFailure(message: message) }

    mutating func run() throws -> Produced {
        guard tree.input.count == 3 || tree.input.count == 1, tree.input.allSatisfy({ $0 > 0 }) else {
            throw fail("input must be [c, h, w] or [features]")
        }
        var seenKinds: Set<String> = []
        for entry in tree.defaults {
            guard let schema = layerSchema[entry.kind], seenKinds.insert(entry.kind).inserted else {
                throw fail("bad defaults kind \(entry.kind)")
            }
            for argument in entry.arguments {
                guard argument.key != "name", argument.key != "input", schema.contains(where: { $0.key == argument.key })
                else { throw fail("bad default key \(entry.kind).\(argument.key)") }
            }
        }
        var seenBlocks: Set<String> = []
        for block in tree.blocks {
            guard !builtinKinds.contains(block.name), seenBlocks.insert(block.name).inserted else {
                throw fail("bad block name \(block.name)")
            }
            var parameters: Set<String> = []
            for p in block.parameters where !parameters.insert(p.name).inserted || p.name == "name" || p.name == "input" {
                throw fail("bad block parameter \(p.name)")
            }
        }
        let input = Produced(shape: TensorShape(tree.input))
        let root = Scope(path: [], numbered: false)
        root.used.insert("input")
        reserveNames(tree.layers, in: root)
        var flow = input
        for node in tree.layers {
            flow = try elaborate(node, input: flow, scope: root, environment: [:])
            result.statementOutputs.append(flow.shape)
        }
        return flow
    }

    // MARK: Structure

    mutating func elaborate(_ nodes: [SpecNode], input: Produced, scope: Scope, environment: [String: Evaluated]) throws -> Produced {
        var flow = input
        for node in nodes { flow = try elaborate(node, input: flow, scope: scope, environment: environment) }
        return flow
    }

    mutating func elaborate(_ node: SpecNode, input: Produced, scope: Scope, environment: [String: Evaluated]) throws -> Produced {
        var input = input
        if case .repeated = node {} else if let reference = node.argument("input") {
            let name = try nameText(evaluate(reference, environment), what: "input")
            input = try resolve(name, from: scope)
        }
        switch node {
        case .instance(let blockName, let arguments):
            return try instantiate(blockName, arguments, node: node, input: input, scope: scope, environment: environment)
        case .group(_, let layers, _):
            let path = try assignName(node, kind: "group", scope: scope, environment: environment)
            let inner = Scope(path: path, numbered: true)
            reserveNames(layers, in: inner)
            let output = try elaborate(layers, input: input, scope: inner, environment: environment)
            record(path, output)
            return output
        case .repeated(let arguments, let layers):
            for argument in arguments where !["count", "index", "start"].contains(argument.key) {
                throw fail("repeat has no key \(argument.key)")
            }
            guard let countValue = node.argument("count"), case .int(let count) = try evaluate(countValue, environment),
                count >= 0, count <= 1000
            else { throw fail("repeat.count") }
            var indexName: String?
            if let index = node.argument("index") {
                guard case .text(let name) = try evaluate(index, environment), isIdentifier(name) else {
                    throw fail("repeat.index")
                }
                indexName = name
            }
            var start = 0
            if let s = node.argument("start") {
                guard case .int(let v) = try evaluate(s, environment) else { throw fail("repeat.start") }
                start = v
            }
            var flow = input
            var inner = environment
            for copy in 0..<count {
                if let indexName { inner[indexName] = .int(start + copy) }
                flow = try elaborate(layers, input: flow, scope: scope, environment: inner)
            }
            return flow
        case .residual(_, let body, let shortcut):
            try onlyCommonKeys(node)
            let bodyOutput = try elaborate(body, input: input, scope: scope, environment: environment)
            var shortcutOutput = input
            switch shortcut {
            case .omitted, .identity: break
            case .layers(let layers): shortcutOutput = try elaborate(layers, input: input, scope: scope, environment: environment)
            case .auto, .projection:
                if shortcut == .projection || bodyOutput.shape != input.shape {
                    shortcutOutput = try project(input.shape, to: bodyOutput.shape, scope: scope)
                }
            }
            let path = try assignName(node, kind: "add", scope: scope, environment: environment)
            guard bodyOutput.shape == shortcutOutput.shape else {
                throw fail("residual \(path.joined(separator: ".")): body \(bodyOutput.shape.dims) vs shortcut \(shortcutOutput.shape.dims)")
            }
            return addLayer(path, Produced(shape: bodyOutput.shape))
        case .concat(_, let branches, _):
            try onlyCommonKeys(node)
            var outputs: [TensorShape] = []
            for branch in branches {
                outputs.append(branch.isEmpty ? input.shape : try elaborate(branch, input: input, scope: scope, environment: environment).shape)
            }
            let path = try assignName(node, kind: "concat", scope: scope, environment: environment)
            return addLayer(path, Produced(shape: try concatenate(outputs)))
        case .layer(let kind, _):
            return try leaf(kind, node: node, input: input, scope: scope, environment: environment)
        }
    }

    func onlyCommonKeys(_ node: SpecNode) throws {
        for argument in node.arguments where argument.key != "name" && argument.key != "input" {
            throw fail("\(node.kind) has no key \(argument.key)")
        }
    }

    mutating func instantiate(
        _ blockName: String, _ arguments: [SpecArgument], node: SpecNode, input: Produced, scope: Scope,
        environment: [String: Evaluated]
    ) throws -> Produced {
        guard let block = blocks[blockName] else { throw fail("unknown block \(blockName)") }
        guard !blockStack.contains(blockName), blockStack.count < 32 else { throw fail("recursive block \(blockName)") }
        var inner: [String: Evaluated] = [:]
        let names = block.parameters.map(\.name)
        var seen: Set<String> = []
        for argument in arguments where argument.key != "name" && argument.key != "input" {
            guard names.contains(argument.key), seen.insert(argument.key).inserted else {
                throw fail("block \(blockName) has no parameter \(argument.key)")
            }
            inner[argument.key] = try evaluate(argument.value, environment)
        }
        for parameter in block.parameters where inner[parameter.name] == nil {
            guard let value = parameter.defaultValue else { throw fail("missing argument \(parameter.name) for \(blockName)") }
            inner[parameter.name] = try evaluate(value, inner)
        }
        let path = try assignName(node, kind: blockName, scope: scope, environment: environment)
        let innerScope = Scope(path: path, numbered: false)
        reserveNames(block.body, in: innerScope)
        blockStack.append(blockName)
        let output = try elaborate(block.body, input: input, scope: innerScope, environment: inner)
        blockStack.removeLast()
        record(path, output)
        return output
    }

    mutating func project(_ input: TensorShape, to body: TensorShape, scope: Scope) throws -> Produced {
        guard input.isMap, body.isMap, input.height % body.height == 0, input.width % body.width == 0 else {
            throw fail("cannot project \(input.dims) to \(body.dims)")
        }
        guard !scope.used.contains("downsample") else { throw fail("downsample taken") }
        scope.used.insert("downsample")
        let base = scope.path + ["downsample"]
        let stride = (input.height / body.height, input.width / body.width)
        let out = try convOutput(
            input, filters: body.channels, kernel: (1, 1), stride: stride, padding: (0, 0, 0, 0), dilation: (1, 1), groups: 1)
        result.params += body.channels * input.channels
        result.macs += out.elements * input.channels
        _ = addLayer(base + ["0"], Produced(shape: out))
        result.params += 2 * out.channels
        result.nonTrainable += 2 * out.channels
        let bn = addLayer(base + ["1"], Produced(shape: out))
        record(base, bn)
        return bn
    }

    func concatenate(_ shapes: [TensorShape]) throws -> TensorShape {
        guard let first = shapes.first else { throw fail("concat needs a branch") }
        for shape in shapes where shape.dims.count != first.dims.count || (shape.isMap && (shape.height != first.height || shape.width != first.width)) {
            throw fail("concat of \(first.dims) and \(shape.dims)")
        }
        var dims = first.dims
        dims[0] = shapes.reduce(0) { $0 + $1.channels }
        return TensorShape(dims)
    }

    // MARK: Names

    func reserveNames(_ nodes: [SpecNode], in scope: Scope) {
        for node in nodes {
            if case .text(let name)? = node.argument("name") { scope.reserved.insert(name) }
            switch node {
            case .residual(_, let body, let shortcut):
                reserveNames(body, in: scope)
                if case .layers(let layers) = shortcut { reserveNames(layers, in: scope) }
            case .concat(_, let branches, _):
                for branch in branches { reserveNames(branch, in: scope) }
            case .repeated(_, let layers):
                reserveNames(layers, in: scope)
            default: break
            }
        }
    }

    mutating func assignName(_ node: SpecNode, kind: String, scope: Scope, environment: [String: Evaluated]) throws -> [String] {
        let number = scope.nextIndex
        if scope.numbered { scope.nextIndex += 1 }
        if let value = node.argument("name") {
            let name = try nameText(evaluate(value, environment), what: "name")
            guard !name.isEmpty, !name.contains(".") else { throw fail("bad name \(name)") }
            guard scope.used.insert(name).inserted else {
                throw fail("duplicate name \((scope.path + [name]).joined(separator: "."))")
            }
            return scope.path + [name]
        }
        if scope.numbered {
            scope.used.insert(String(number))
            return scope.path + [String(number)]
        }
        var name = kind
        var suffix = scope.nextSuffix[kind] ?? 0
        if suffix > 0 { name = "\(kind)_\(suffix)" }
        while scope.used.contains(name) || scope.reserved.contains(name) {
            suffix += 1
            name = "\(kind)_\(suffix)"
        }
        scope.nextSuffix[kind] = suffix + 1
        scope.used.insert(name)
        return scope.path + [name]
    }

    func nameText(_ value: Evaluated, what: String) throws -> String {
        switch value {
        case .text(let s): return s
        case .int(let v): return String(v)
        default: throw fail("\(what) must be a name")
        }
    }

    func resolve(_ name: String, from scope: Scope) throws -> Produced {
        for depth in (0...scope.path.count).reversed() {
            let full = (scope.path.prefix(depth) + [name]).joined(separator: ".")
            if let found = result.names[full] { return found }
        }
        if name == "input" { return Produced(shape: TensorShape(tree.input)) }
        throw fail("no layer named \(name) from \(scope.path.joined(separator: "."))")
    }

    mutating func record(_ path: [String], _ produced: Produced) {
        let name = path.joined(separator: ".")
        if result.names[name] == nil { result.order.append(name) }
        result.names[name] = produced
    }

    mutating func addLayer(_ path: [String], _ produced: Produced) -> Produced {
        result.layers += 1
        record(path, produced)
        return produced
    }

    // MARK: Values

    func evaluate(_ value: SpecValue, _ environment: [String: Evaluated]) throws -> Evaluated {
        switch value {
        case .int(let v): return .int(v)
        case .number(let v): return .number(v)
        case .bool(let b): return .bool(b)
        case .text(let s): return .text(s)
        case .list(let items): return .list(try items.map { try evaluate($0, environment) })
        case .expr(.parameter(let name)):
            guard let v = environment[name] else { throw fail("unknown parameter \(name)") }
            return v
        case .expr(let e): return .int(try integer(e, environment))
        case .template(let pieces):
            if pieces.count == 1, case .expr(let e) = pieces[0] { return try evaluate(.expr(e), environment) }
            var text = ""
            for piece in pieces {
                switch piece {
                case .text(let t): text += t
                case .parameter(let p):
                    switch environment[p] {
                    case .int(let v)?: text += String(v)
                    case .text(let s)?: text += s
                    default: throw fail("template parameter \(p)")
                    }
                case .expr(let e): text += String(try integer(e, environment))
                }
            }
            return .text(text)
        }
    }

    func integer(_ e: SpecExpr, _ environment: [String: Evaluated]) throws -> Int {
        switch e {
        case .int(let v): return v
        case .parameter(let p):
            guard case .int(let v)? = environment[p] else { throw fail("parameter \(p) is not an integer") }
            return v
        case .binary(let op, let l, let r):
            let a = try integer(l, environment), b = try integer(r, environment)
            switch op {
            case .add: return a + b
            case .subtract: return a - b
            case .multiply: return a * b
            case .divide:
                guard b != 0, a % b == 0 else { throw fail("\(a) / \(b) is not exact") }
                return a / b
            case .floorDivide:
                guard b != 0 else { throw fail("division by zero") }
                let q = a / b
                return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
            case .remainder:
                guard b != 0 else { throw fail("division by zero") }
                let m = a % b
                return (m != 0 && (m < 0) != (b < 0)) ? m + b : m
            }
        }
    }

    // MARK: Leaves

    mutating func leaf(_ kind: String, node: SpecNode, input: Produced, scope: Scope, environment: [String: Evaluated]) throws -> Produced {
        guard let schema = layerSchema[kind] else { throw fail("unknown kind \(kind)") }
        var a: [String: Evaluated] = [:]
        var written: Set<String> = []
        for argument in node.arguments {
            guard written.insert(argument.key).inserted else { throw fail("duplicate key \(kind).\(argument.key)") }
        }
        for argument in (defaults[kind] ?? []) + node.arguments {
            guard let key = schema.first(where: { $0.key == argument.key }) else { throw fail("\(kind) has no key \(argument.key)") }
            let value = try evaluate(argument.value, environment)
            try typeCheck(value, key.type, "\(kind).\(argument.key)")
            a[argument.key] = value
        }
        for key in schema where key.required && a[key.key] == nil { throw fail("\(kind) needs \(key.key)") }
        let path = try assignName(node, kind: kind, scope: scope, environment: environment)
        let name = path.joined(separator: ".")
        let shape = input.shape

        func int(_ key: String, _ d: Int) -> Int { if case .int(let v)? = a[key] { v } else { d } }
        func bool(_ key: String, _ d: Bool) -> Bool { if case .bool(let v)? = a[key] { v } else { d } }
        func number(_ key: String, _ d: Double) -> Double {
            switch a[key] {
            case .number(let v)?: v
            case .int(let v)?: Double(v)
            default: d
            }
        }
        func pair(_ key: String, _ d: (Int, Int)) -> (Int, Int) {
            switch a[key] {
            case .int(let v)?: (v, v)
            case .list(let items)?:
                if items.count == 2, case .int(let h) = items[0], case .int(let w) = items[1] { (h, w) } else { d }
            default: d
            }
        }
        func needMap() throws {
            guard shape.isMap else { throw fail("\(name) (\(kind)) needs a C×H×W input, got \(shape.dims)") }
        }
        func produced(_ s: TensorShape) -> Produced { addLayer(path, Produced(shape: s)) }

        switch kind {
        case "add", "concat":
            var shapes: [TensorShape] = []
            if case .list(let items)? = a["inputs"] {
                for item in items { shapes.append(try resolve(nameText(item, what: "inputs"), from: scope).shape) }
            } else {
                shapes = [shape]
            }
            if kind == "concat" { return produced(try concatenate(shapes)) }
            guard shapes.count >= 2 else { throw fail("add needs two inputs") }
            for s in shapes where s != shapes[0] { throw fail("add of \(shapes[0].dims) and \(s.dims)") }
            return produced(shapes[0])

        case "conv":
            try needMap()
            let depthwise = bool("depthwise", false)
            guard let filters: Int = a["filters"].flatMap({ if case .int(let v) = $0 { v } else { nil } }) ?? (depthwise ? shape.channels : nil)
            else { throw fail("conv needs filters") }
            let kernel = pair("kernel", (1, 1)), stride = pair("stride", (1, 1)), dilation = pair("dilation", (1, 1))
            let groups = depthwise ? shape.channels : int("groups", 1)
            if depthwise, a["groups"] != nil, int("groups", 1) != shape.channels { throw fail("depthwise with groups") }
            guard shape.channels % groups == 0, filters % groups == 0 else { throw fail("\(name): groups \(groups)") }
            let padding: (Int, Int, Int, Int)
            switch a["padding"] {
            case .text("same")?:
                func split(_ n: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                    let out = (n + s - 1) / s
                    let total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
                    return (total / 2, total - total / 2)
                }
                let (t, b) = split(shape.height, kernel.0, stride.0, dilation.0)
                let (l, r) = split(shape.width, kernel.1, stride.1, dilation.1)
                padding = (t, b, l, r)
            case .list(let items)? where items.count == 4:
                var v: [Int] = []
                for item in items { if case .int(let x) = item { v.append(x) } }
                guard v.count == 4 else { throw fail("padding") }
                padding = (v[0], v[1], v[2], v[3])
            default:
                let p = pair("padding", (0, 0))
                padding = (p.0, p.0, p.1, p.1)
            }
            let out = try convOutput(shape, filters: filters, kernel: kernel, stride: stride, padding: padding, dilation: dilation, groups: groups)
            let bias = bool("bias", true)
            result.params += filters * (shape.channels / groups) * kernel.0 * kernel.1 + (bias ? filters : 0)
            result.macs += out.elements * (shape.channels / groups) * kernel.0 * kernel.1
            return produced(out)

        case "conv_transpose":
            try needMap()
            let filters = int("filters", 1)
            let kernel = pair("kernel", (1, 1)), stride = pair("stride", (1, 1)), dilation = pair("dilation", (1, 1))
            let pad = pair("padding", (0, 0)), outputPadding = pair("output_padding", (0, 0))
            let groups = int("groups", 1)
            guard shape.channels % groups == 0, filters % groups == 0 else { throw fail("\(name): groups") }
            guard outputPadding.0 < max(stride.0, dilation.0), outputPadding.1 < max(stride.1, dilation.1) else {
                throw fail("\(name): output_padding")
            }
            let h = (shape.height - 1) * stride.0 - 2 * pad.0 + dilation.0 * (kernel.0 - 1) + outputPadding.0 + 1
            let w = (shape.width - 1) * stride.1 - 2 * pad.1 + dilation.1 * (kernel.1 - 1) + outputPadding.1 + 1
            guard h > 0, w > 0 else { throw fail("\(name): empty transposed output") }
            let bias = bool("bias", true)
            result.params += shape.channels * (filters / groups) * kernel.0 * kernel.1 + (bias ? filters : 0)
            result.macs += shape.elements * (filters / groups) * kernel.0 * kernel.1
            return produced(.chw(filters, h, w))

        case "max_pool", "avg_pool":
            try needMap()
            let kernel = pair("kernel", (1, 1)), stride = pair("stride", kernel)
            let pad = pair("padding", (0, 0)), dilation = pair("dilation", (1, 1))
            let ceilMode = bool("ceil_mode", false)
            let effective = (dilation.0 * (kernel.0 - 1) + 1, dilation.1 * (kernel.1 - 1) + 1)
            guard 2 * pad.0 <= effective.0, 2 * pad.1 <= effective.1 else { throw fail("\(name): pool padding over half") }
            guard let h = extent(shape.height, kernel.0, stride.0, pad.0, pad.0, dilation.0, ceilMode),
                let w = extent(shape.width, kernel.1, stride.1, pad.1, pad.1, dilation.1, ceilMode)
            else { throw fail("\(name): empty pool output") }
            let out = TensorShape.chw(shape.channels, h, w)
            if kind == "max_pool", bool("return_indices", false) {
                return addLayer(path, Produced(shape: out, indexedPool: PoolRecord(input: shape, output: out, kh: kernel.0, kw: kernel.1)))
            }
            return produced(out)

        case "global_avg_pool", "global_max_pool":
            try needMap()
            return produced(.chw(shape.channels, 1, 1))

        case "adaptive_avg_pool":
            try needMap()
            let output = pair("output", (1, 1))
            return produced(.chw(shape.channels, output.0, output.1))

        case "max_unpool":
            try needMap()
            guard let indices = a["indices"] else { throw fail("max_unpool indices") }
            let reference = try nameText(indices, what: "indices")
            guard let pool = try resolve(reference, from: scope).indexedPool else {
                throw fail("\(name): \(reference) is not a max_pool with return_indices")
            }
            guard pool.output == shape else { throw fail("\(name): unpool of \(shape.dims) with \(pool.output.dims)") }
            return produced(.chw(shape.channels, pool.input.height, pool.input.width))

        case "batch_norm":
            result.params += 2 * shape.channels
            result.nonTrainable += 2 * shape.channels
            return produced(shape)

        case "local_response_norm":
            try needMap()
            return produced(shape)

        case "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu", "softmax", "identity":
            return produced(shape)

        case "prelu":
            result.params += bool("per_channel", false) ? shape.channels : 1
            return produced(shape)

        case "dropout", "spatial_dropout":
            let rate = number("rate", 0.5)
            guard rate >= 0, rate < 1 else { throw fail("dropout rate") }
            if kind == "spatial_dropout" { try needMap() }
            return produced(shape)

        case "flatten":
            return produced(TensorShape([shape.elements]))

        case "dense":
            guard shape.dims.count == 1 else { throw fail("\(name): dense needs a flat input, got \(shape.dims)") }
            let units = int("units", 1)
            let bias = bool("bias", true)
            result.params += units * shape.channels + (bias ? units : 0)
            result.macs += units * shape.channels
            return produced(TensorShape([units]))

        case "multiply":
            guard case .list(let items)? = a["inputs"] else { throw fail("multiply needs inputs") }
            let shapes = try items.map { try resolve(nameText($0, what: "inputs"), from: scope).shape }
            guard shapes.count >= 2 else { throw fail("multiply needs two inputs") }
            let largest = shapes.max { $0.elements < $1.elements }!
            for s in shapes where s != largest && !(largest.isMap && s == .chw(largest.channels, 1, 1)) {
                throw fail("multiply of \(largest.dims) and \(s.dims)")
            }
            return produced(largest)

        case "slice":
            try needMap()
            let start = int("start", 0), end = int("end", shape.channels)
            guard start < end, end <= shape.channels else { throw fail("\(name): slice \(start)..<\(end) of \(shape.channels)") }
            return produced(.chw(end - start, shape.height, shape.width))

        case "upsample":
            try needMap()
            let sizes = ["size", "like", "scale"].filter { a[$0] != nil }
            guard sizes.count == 1 else { throw fail("\(name): upsample takes one of size, like, scale") }
            if a["align_corners"] != nil, a["mode"] != .text("bilinear") { throw fail("\(name): align_corners without bilinear") }
            if let like = a["like"] {
                let other = try resolve(nameText(like, what: "like"), from: scope).shape
                guard other.isMap else { throw fail("\(name): like \(other.dims)") }
                return produced(.chw(shape.channels, other.height, other.width))
            }
            if a["size"] != nil {
                let size = pair("size", (1, 1))
                return produced(.chw(shape.channels, size.0, size.1))
            }
            let factor = number("scale", 1)
            let h = Int((Double(shape.height) * factor).rounded(.down)), w = Int((Double(shape.width) * factor).rounded(.down))
            guard factor > 0, h >= 1, w >= 1 else { throw fail("\(name): scale \(factor) leaves no pixels") }
            return produced(.chw(shape.channels, h, w))

        case "squeeze_excitation":
            try needMap()
            let squeeze = int("squeeze_channels", 1)
            // fc1 and fc2: 1×1 convs with bias between C and the squeeze channels.
            result.params += 2 * squeeze * shape.channels + squeeze + shape.channels
            result.macs += 2 * squeeze * shape.channels
            // avgpool, fc1, activation, fc2, scale_activation (each activation unless 'none'), then the product.
            var inner: [(String, TensorShape)] = [("avgpool", .chw(shape.channels, 1, 1)), ("fc1", .chw(squeeze, 1, 1))]
            if a["activation"] != .text("none") { inner.append(("activation", .chw(squeeze, 1, 1))) }
            inner.append(("fc2", .chw(shape.channels, 1, 1)))
            if a["scale_activation"] != .text("none") { inner.append(("scale_activation", .chw(shape.channels, 1, 1))) }
            for (child, s) in inner { _ = addLayer(path + [child], Produced(shape: s)) }
            return produced(shape)

        case "channel_shuffle":
            try needMap()
            guard shape.channels % int("groups", 1) == 0 else { throw fail("\(name): groups do not divide the channels") }
            return produced(shape)

        case "channel_pad":
            try needMap()
            let channels = int("channels", shape.channels)
            guard channels >= shape.channels else { throw fail("\(name): channel_pad shrinks") }
            return produced(.chw(channels, shape.height, shape.width))

        default:
            throw fail("unknown kind \(kind)")
        }
    }

    func convOutput(
        _ shape: TensorShape, filters: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int, Int, Int),
        dilation: (Int, Int), groups: Int
    ) throws -> TensorShape {
        guard let h = extent(shape.height, kernel.0, stride.0, padding.0, padding.1, dilation.0, false),
            let w = extent(shape.width, kernel.1, stride.1, padding.2, padding.3, dilation.1, false)
        else { throw fail("conv leaves no output: \(shape.dims) kernel \(kernel) stride \(stride) padding \(padding) dilation \(dilation)") }
        return .chw(filters, h, w)
    }

    func typeCheck(_ value: Evaluated, _ type: ArgumentKind, _ key: String) throws {
        let limit = 1 << 24
        func intAtLeast(_ v: Evaluated, _ minimum: Int) -> Bool {
            if case .int(let x) = v { return x >= minimum && abs(x) <= limit }
            return false
        }
        let ok: Bool
        switch type {
        case .integer(let minimum): ok = intAtLeast(value, minimum)
        case .pair(let minimum):
            if case .list(let items) = value { ok = items.count == 2 && items.allSatisfy { intAtLeast($0, minimum) } } else { ok = intAtLeast(value, minimum) }
        case .padding:
            switch value {
            case .text(let s): ok = s == "same" || s == "valid"
            case .list(let items): ok = (items.count == 2 || items.count == 4) && items.allSatisfy { intAtLeast($0, 0) }
            default: ok = intAtLeast(value, 0)
            }
        case .bool: if case .bool = value { ok = true } else { ok = false }
        case .number:
            switch value {
            case .int: ok = true
            case .number(let v): ok = v.isFinite
            default: ok = false
            }
        case .layerName:
            switch value {
            case .text, .int: ok = true
            default: ok = false
            }
        case .layerNames:
            if case .list(let items) = value {
                ok = !items.isEmpty && items.allSatisfy { if case .text = $0 { true } else if case .int = $0 { true } else { false } }
            } else { ok = false }
        case .activation:
            if case .text(let s) = value {
                ok = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu", "none"].contains(s)
            } else { ok = false }
        case .choice(let words):
            if case .text(let s) = value { ok = words.contains(s) } else { ok = false }
        }
        guard ok else { throw fail("\(key): wrong value \(value)") }
    }
}

/// One axis of a sliding window (spatialOutput.swift): nil when it leaves no output.
func extent(_ input: Int, _ kernel: Int, _ stride: Int, _ padBegin: Int, _ padEnd: Int, _ dilation: Int, _ ceilMode: Bool) -> Int? {
    let effective = dilation * (kernel - 1) + 1
    let span = input + padBegin + padEnd - effective
    guard span >= 0 else { return nil }
    var out = span / stride + 1
    if ceilMode {
        out = (span + stride - 1) / stride + 1
        if (out - 1) * stride >= input + padBegin { out -= 1 }
    }
    return out > 0 ? out : nil
}

/// Whether the window reads every real input pixel (no DroppedInput warning from convc).
func readsEveryPixel(_ input: Int, _ kernel: Int, _ stride: Int, _ padBegin: Int, _ padEnd: Int, _ dilation: Int, _ ceilMode: Bool) -> Bool {
    let effective = dilation * (kernel - 1) + 1
    guard let out = extent(input, kernel, stride, padBegin, padEnd, dilation, ceilMode) else { return false }
    guard effective >= stride else { return true }
    let lastRead = (out - 1) * stride - padBegin + effective - 1
    return lastRead >= input - 1
}

func isIdentifier(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
    return s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0) }
}
