// Spec → checked model: instantiates blocks and repeats, names every layer, infers shapes and counts.

import ConvcDiagnostics
import ConvcIR

/// Checks a decoded spec and builds the model. Returns nil when there are errors.
///
/// Every layer whose input is already wrong gets no diagnostic of its own, so one mistake gives one error.
public func checkSpec(_ spec: ModelSpec, diagnostics: inout DiagnosticEngine) -> Model? {
    var elaborator = Elaborator(spec: spec, diagnostics: diagnostics)
    let model = elaborator.run()
    diagnostics = elaborator.diagnostics
    // A model whose only errors are `expect:` figures that disagree is sound: reports still describe it.
    let sound = diagnostics.diagnostics.allSatisfy { $0.severity != .error || $0.category == expectMismatch }
    return sound ? model : nil
}

/// The category of an `expect:` figure that disagrees with the computed one.
public let expectMismatch = "ExpectMismatch"

/// What flows from one layer to the next: the producing layer and its shape (nil after an error upstream).
struct Flow {
    var layer: Int
    var shape: Shape?

    static let poisoned = Flow(layer: 0, shape: nil)
}

/// Names in one scope: a block instance or group (`numbered` for groups, like nn.Sequential).
final class NameScope {
    let path: [String]
    let numbered: Bool
    var nextIndex = 0
    var reserved: Set<String> = []
    /// Transparent blocks whose literal names are already in `reserved`.
    var reservedBlocks: Set<String> = []
    var used: [String: SourceLocation] = [:]
    /// The next suffix to try per kind, so naming n unnamed layers of a kind stays linear.
    var nextSuffix: [String: Int] = [:]

    init(path: [String], numbered: Bool) {
        self.path = path
        self.numbered = numbered
    }
}

enum ElaborationLimits {
    static let maximumLayers = 100_000
    static let maximumItems = 200_000
    static let maximumBlockDepth = 32
    /// Larger tensors are certainly a mistake, and products of their sizes could overflow.
    static let maximumElements = 1 << 40
}

struct Elaborator {
    let spec: ModelSpec
    var diagnostics: DiagnosticEngine
    var layers: [Layer] = []
    var scopes: [Scope] = []
    /// Full dotted name → layer whose output that name stands for.
    var names: [String: Int] = [:]
    /// Block instantiation stack, for recursion errors.
    var blockStack: [(name: String, location: SourceLocation)] = []
    var exceededLayerLimit = false
    var expandedItems = 0
    /// Layers downstream of a dropped-pixel warning: their own misalignment is a consequence, not news.
    var misaligned: Set<Int> = []
    var pendingMisaligned = false
    /// References that found no earlier layer, diagnosed once the whole spec is known (it may be defined later).
    var unresolved: [(reference: Located<String>, scope: [String])] = []
    /// Every name given out, with where it was written, including layers skipped after an error upstream.
    var declared: [String: SourceLocation] = [:]
    /// The same names in the order given out, so that an item's own names are known when it fails.
    var declarationOrder: [String] = []
    /// Names of layers that were reached but not built (their error, or one upstream, is already reported):
    /// a later reference to one is a consequence, not a second mistake.
    var abandoned: Set<String> = []
    /// The warnings the items being elaborated accept (`accept:` on them or on a structure around them).
    var acceptedHere: Set<String> = []
    /// The warnings each layer accepts, by layer id.
    var acceptedByLayer: [Int: Set<String>] = [:]

    init(spec: ModelSpec, diagnostics: DiagnosticEngine) {
        self.spec = spec
        self.diagnostics = diagnostics
    }

    mutating func run() -> Model {
        let inputShape = Shape(spec.input.value)
        layers.append(
            Layer(
                id: 0, path: ["input"], op: .input, inputs: [], outputShape: inputShape, location: spec.input.location))
        let root = NameScope(path: [], numbered: false)
        root.used["input"] = spec.input.location
        reserveNames(spec.layers, in: root)
        let output = elaborate(
            spec.layers, input: Flow(layer: 0, shape: inputShape), scope: root, environment: Environment())
        diagnoseUnresolvedReferences()
        let model = Model(name: spec.name, layers: layers, outputLayer: output.layer, scopes: scopes)
        if output.shape != nil, !diagnostics.hasErrors {
            checkExpectations(model)
            warnAboutUnreadLayers(model)
        }
        return model
    }

    /// Layers whose output nothing reads (a side branch left dangling) and concats of a single branch: always a
    /// mistake in a spec, never an error of the model, so warnings.
    mutating func warnAboutUnreadLayers(_ model: Model) {
        var read = Set(model.layers.flatMap(\.inputs))
        read.insert(model.outputLayer)
        for layer in model.layers {
            if case .maxUnpool(_, _, _, let pool) = layer.op { read.insert(pool) }
        }
        // One warning per dead branch: at its last layer, the one nothing reads.
        for layer in model.layers.dropFirst() where !read.contains(layer.id) {
            warn(
                "nothing reads the output of '\(layer.name)'; it is computed and dropped", category: "UnreadLayer",
                accepted: acceptedByLayer[layer.id] ?? [], at: layer.location,
                notes: [Note("the model's output is '\(model.layers[model.outputLayer].name)'", at: model.layers[model.outputLayer].location)])
        }
        for layer in model.layers where layer.op == .concat && layer.inputs.count == 1 {
            warn(
                "'\(layer.name)' concatenates one branch: it is a copy of '\(model.layers[layer.inputs[0]].name)'",
                category: "SingleBranchConcat", accepted: acceptedByLayer[layer.id] ?? [], at: layer.location)
        }
    }

    /// A warning, or a note where the layer accepts it (`accept:`).
    mutating func warn(_ message: String, category: String, accepted: Set<String>, at location: SourceLocation?, notes: [Note] = []) {
        if accepted.contains(category) {
            diagnostics.note("accepted \(category): " + message, category: category, at: location, notes: notes)
        } else {
            diagnostics.warning(message, category: category, at: location, notes: notes)
        }
    }

    // MARK: Sequences and structure

    mutating func elaborate(_ items: [LayerSpec], input: Flow, scope: NameScope, environment: Environment) -> Flow {
        var flow = input
        for item in items {
            if exceededLayerLimit { return .poisoned }
            flow = elaborate(item, input: flow, scope: scope, environment: environment)
        }
        return flow
    }

    mutating func elaborate(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        // Every item counts, block instances and groups included, so nested blocks cannot multiply the work
        // without bound even when they create few layers.
        guard spendExpansion(at: item.kind.location) else { return .poisoned }
        let enclosingAccepted = acceptedHere
        defer { acceptedHere = enclosingAccepted }
        acceptedHere.formUnion(acceptedWarnings(item, in: environment))
        let firstLayer = layers.count
        defer { for id in firstLayer..<layers.count { acceptedByLayer[id, default: []].formUnion(acceptedHere) } }
        let firstDeclaration = declarationOrder.count
        let output = elaborateUnrecorded(item, input: input, scope: scope, environment: environment)
        for name in declarationOrder[firstDeclaration...] where names[name] == nil { abandoned.insert(name) }
        return output
    }

    /// The warnings an item's `accept:` names, evaluated (a block parameter may name them; decoding checked the
    /// literal ones).
    mutating func acceptedWarnings(_ item: LayerSpec, in environment: Environment) -> Set<String> {
        guard let accept = item.argument("accept"), let value = evaluate(accept.value, in: environment) else { return [] }
        let names: [Evaluated] = if case .list(let list) = value { list.map(\.value) } else { [value] }
        var warnings: Set<String> = []
        for name in names {
            guard case .string(let warning) = name, acceptableWarnings.contains(warning) else {
                diagnostics.error(
                    "'\(item.kind.value).accept' must be \(ArgumentType.warnings.description); found \(name.typeDescription)",
                    category: "WrongType", at: accept.value.location)
                continue
            }
            warnings.insert(warning)
        }
        return warnings
    }

    mutating func elaborateUnrecorded(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        var input = input
        if let reference = item.argument("input") {
            guard let value = evaluate(reference.value, in: environment) else { return .poisoned }
            guard let name = nameText(value) else {
                diagnostics.error(
                    "'input' must be the name of an earlier layer; found \(value.typeDescription)",
                    category: "WrongType", at: reference.value.location)
                return .poisoned
            }
            guard let resolved = resolve(Located(name, at: reference.value.location), from: scope) else {
                return .poisoned
            }
            input = resolved
        }
        guard item.isValid else {
            skipNumber(in: scope)
            return .poisoned
        }
        if item.isBlockInstance { return instantiateBlock(item, input: input, scope: scope, environment: environment) }
        switch LayerKind(rawValue: item.kind.value)?.structure {
        case .group: return elaborateGroup(item, input: input, scope: scope, environment: environment)
        case .repeatBlock: return elaborateRepeat(item, input: input, scope: scope, environment: environment)
        case .residual: return elaborateResidual(item, input: input, scope: scope, environment: environment)
        case .concat:
            if case .branches(let branches) = item.children {
                return elaborateBranches(item, branches, input: input, scope: scope, environment: environment)
            }
            return elaborateLeaf(item, input: input, scope: scope, environment: environment)
        case .leaf, nil:
            return elaborateLeaf(item, input: input, scope: scope, environment: environment)
        }
    }

    /// Counts one unit of expansion work; false once the budget is spent (after one error) or a limit stopped
    /// elaboration.
    mutating func spendExpansion(at location: SourceLocation) -> Bool {
        expandedItems += 1
        if expandedItems > ElaborationLimits.maximumItems, !exceededLayerLimit {
            diagnostics.error(
                "the model expands to more than \(grouped(ElaborationLimits.maximumItems)) layers and blocks",
                category: "TooLarge", at: location)
            exceededLayerLimit = true
        }
        return !exceededLayerLimit
    }

    mutating func elaborateGroup(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        guard let path = assignName(item, kind: "group", scope: scope, environment: environment),
            case .sequence(let children) = item.children
        else {
            skipNumber(in: scope)
            return .poisoned
        }
        let inner = NameScope(path: path, numbered: true)
        reserveNames(children, in: inner)
        scopes.append(Scope(path: path, kind: "group"))
        let output = elaborate(children, input: input, scope: inner, environment: environment)
        names[path.joined(separator: ".")] = output.layer
        return output
    }

    mutating func elaborateRepeat(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        guard case .sequence(let children) = item.children, let countArgument = item.argument("count"),
            let countValue = evaluate(countArgument.value, in: environment)
        else { return .poisoned }
        guard case .int(let count) = countValue, count >= 0 else {
            diagnostics.error(
                "'repeat.count' must be a non-negative integer; found \(countValue.typeDescription)",
                category: "WrongType", at: countArgument.value.location)
            return .poisoned
        }
        guard count <= ElaborationLimits.maximumLayers else {
            diagnostics.error(
                "'repeat.count' is \(count); convc accepts at most \(ElaborationLimits.maximumLayers) layers",
                category: "TooLarge", at: countArgument.value.location)
            return .poisoned
        }
        // `index: i` binds $i to start, start + 1, … in each copy.
        var indexName: String?
        var start = 0
        if let indexArgument = item.argument("index") {
            guard case .string(let name)? = evaluate(indexArgument.value, in: environment), name.isIdentifier else {
                diagnostics.error(
                    "'repeat.index' must be a parameter name such as i", category: "WrongType",
                    at: indexArgument.value.location)
                return .poisoned
            }
            indexName = name
        }
        if let startArgument = item.argument("start") {
            guard case .int(let value)? = evaluate(startArgument.value, in: environment) else {
                diagnostics.error(
                    "'repeat.start' must be an integer", category: "WrongType", at: startArgument.value.location)
                return .poisoned
            }
            start = value
        }
        var flow = input
        var inner = environment
        for copy in 0..<count {
            // Each copy counts as work even when it adds no layers (a repeat of an empty or failing body).
            guard spendExpansion(at: item.kind.location) else { return .poisoned }
            if let indexName { inner.values[indexName] = .int(start &+ copy) }
            flow = elaborate(children, input: flow, scope: scope, environment: inner)
        }
        return flow
    }

    mutating func instantiateBlock(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow {
        let blockName = item.kind.value
        guard let block = spec.blocks[blockName] else {
            skipNumber(in: scope)
            return .poisoned
        }
        if let first = blockStack.firstIndex(where: { $0.name == blockName }) {
            let cycle = blockStack[first...].map(\.name) + [blockName]
            diagnostics.error(
                "block '\(blockName)' instantiates itself (\(cycle.joined(separator: " → "))); blocks cannot be recursive",
                category: "RecursiveBlock", at: item.kind.location,
                notes: [Note("block '\(blockName)' is defined here", at: block.location)])
            return .poisoned
        }
        guard blockStack.count < ElaborationLimits.maximumBlockDepth else {
            diagnostics.error(
                "blocks nest more than \(ElaborationLimits.maximumBlockDepth) deep", category: "TooLarge",
                at: item.kind.location)
            // Every sibling would hit the same limit: stop here, once.
            exceededLayerLimit = true
            return .poisoned
        }

        // Bind arguments, evaluated where the instance is written.
        var inner = Environment(blockName: blockName, values: [:], blockLocation: block.location)
        var failed = false
        let parameterNames = block.parameters.map(\.name)
        for argument in item.arguments where argument.key.value != "name" && argument.key.value != "input" {
            guard parameterNames.contains(argument.key.value) else {
                diagnostics.error(
                    "block '\(blockName)' has no parameter '\(argument.key.value)'"
                        + (closestMatch(to: argument.key.value, in: parameterNames).map { "; did you mean '\($0)'?" }
                            ?? "; its parameters are \(parameterNames.isEmpty ? "none" : parameterNames.joined(separator: ", "))"),
                    category: "UnknownParameter", at: argument.key.location,
                    notes: [Note("block '\(blockName)' is defined here", at: block.location)])
                failed = true
                continue
            }
            guard let value = evaluate(argument.value, in: environment) else {
                failed = true
                continue
            }
            inner.values[argument.key.value] = value
        }
        for parameter in block.parameters where inner.values[parameter.name] == nil {
            if let defaultValue = parameter.defaultValue {
                // Defaults may use earlier parameters: `bottleneck(filters, width = $filters)`.
                guard let value = evaluate(defaultValue, in: inner) else {
                    failed = true
                    continue
                }
                inner.values[parameter.name] = value
            } else if !failed {
                diagnostics.error(
                    "missing argument '\(parameter.name)' for block '\(blockName)'", category: "MissingArgument",
                    at: item.kind.location, notes: [Note("block '\(blockName)' is defined here", at: block.location)])
                failed = true
            }
        }
        if block.transparent {
            if let name = item.argument("name") {
                diagnostics.error(
                    "block '\(blockName)' is transparent: its layers are named where it is used, so an instance takes no 'name'",
                    category: "InvalidValue", at: name.key.location,
                    notes: [Note("block '\(blockName)' is defined here", at: block.location)])
                return .poisoned
            }
            if failed { return .poisoned }
            return expand(block, instance: item, input: input, scope: scope, environment: inner)
        }
        guard let path = assignName(item, kind: blockName, scope: scope, environment: environment) else {
            return .poisoned
        }
        if failed { return .poisoned }

        let innerScope = NameScope(path: path, numbered: false)
        reserveNames(block.body, in: innerScope)
        scopes.append(Scope(path: path, kind: blockName))
        let output = expand(block, instance: item, input: input, scope: innerScope, environment: inner)
        names[path.joined(separator: ".")] = output.layer
        return output
    }

    /// A block's layers in `scope`: the instance's own, or for a transparent block the enclosing one.
    mutating func expand(
        _ block: BlockSpec, instance item: LayerSpec, input: Flow, scope: NameScope, environment: Environment
    ) -> Flow {
        blockStack.append((block.name, item.kind.location))
        let errorsBefore = diagnostics.errorCount
        let output = elaborate(block.body, input: input, scope: scope, environment: environment)
        blockStack.removeLast()
        if diagnostics.errorCount > errorsBefore {
            // Point from errors inside the block back to this instance.
            diagnostics.appendNote(
                Note("in block '\(block.name)' instantiated here", at: item.kind.location), toErrorsAfter: errorsBefore)
        }
        return output
    }

    mutating func elaborateResidual(_ item: LayerSpec, input: Flow, scope: NameScope, environment: Environment) -> Flow
    {
        guard case .residual(let body, let shortcut) = item.children else { return .poisoned }
        let bodyOutput = elaborate(body, input: input, scope: scope, environment: environment)
        var shortcutOutput = input
        var shortcutLocation = shortcut.location
        switch shortcut.value {
        case .identity:
            break
        case .layers(let layers):
            shortcutOutput = elaborate(layers, input: input, scope: scope, environment: environment)
            shortcutLocation = layers.first?.location ?? shortcut.location
        case .auto, .projection:
            if let bodyShape = bodyOutput.shape, let inputShape = input.shape,
                shortcut.value == .projection || bodyShape != inputShape
            {
                shortcutOutput = project(
                    input, from: inputShape, to: bodyShape, at: shortcut.location, scope: scope)
            } else if bodyOutput.shape == nil || input.shape == nil {
                shortcutOutput = .poisoned
            }
        }
        guard let path = assignName(item, kind: "add", scope: scope, environment: environment) else { return .poisoned }
        guard let bodyShape = bodyOutput.shape, let shortcutShape = shortcutOutput.shape else { return .poisoned }
        guard bodyShape == shortcutShape else {
            let hint =
                shortcut.value == .identity
                ? "; use 'shortcut: auto' to project the input with a 1×1 conv"
                : ""
            diagnostics.error(
                "'\(path.joined(separator: "."))' adds the body's \(bodyShape) to the shortcut's \(shortcutShape)\(hint)",
                category: "ShapeMismatch", at: item.kind.location,
                notes: [
                    Note(
                        "the body ends with '\(layers[bodyOutput.layer].name)' (\(bodyShape))",
                        at: layers[bodyOutput.layer].location),
                    Note("the shortcut gives \(shortcutShape)", at: shortcutLocation),
                ])
            return .poisoned
        }
        return addLayer(
            path: path, op: .add, inputs: [bodyOutput.layer, shortcutOutput.layer], shape: bodyShape,
            otherOps: bodyShape.elementCount, location: item.kind.location)
    }

    /// ResNet's projection shortcut: `downsample.0` (1×1 conv, stride from the shape ratio, no bias) and
    /// `downsample.1` (batch norm).
    mutating func project(
        _ input: Flow, from inputShape: Shape, to bodyShape: Shape, at location: SourceLocation, scope: NameScope
    ) -> Flow {
        guard inputShape.isFeatureMap, bodyShape.isFeatureMap, inputShape.height % bodyShape.height == 0,
            inputShape.width % bodyShape.width == 0
        else {
            diagnostics.error(
                "cannot project \(inputShape) to \(bodyShape) with a strided 1×1 conv; the body must shrink each side by a whole factor",
                category: "ShapeMismatch", at: location)
            return .poisoned
        }
        let stride = Pair(inputShape.height / bodyShape.height, inputShape.width / bodyShape.width)
        let base = scope.path + ["downsample"]
        if scope.used["downsample"] != nil {
            diagnostics.error(
                "the projection shortcut is named 'downsample', which is taken in '\(scope.path.joined(separator: "."))'",
                category: "DuplicateName", at: location)
            return .poisoned
        }
        scope.used["downsample"] = location
        scopes.append(Scope(path: base, kind: "group"))
        let conv = Convolution(
            inChannels: inputShape.channels, filters: bodyShape.channels, kernel: Pair(1, 1), stride: stride,
            padding: .zero, dilation: Pair(1, 1), groups: 1, bias: false)
        guard
            let convFlow = addConvolution(
                conv, path: base + ["0"], input: input, inputShape: inputShape, location: location)
        else {
            return .poisoned
        }
        let bn = addBatchNorm(path: base + ["1"], input: convFlow, epsilon: 1e-5, location: location)
        names[base.joined(separator: ".")] = bn.layer
        return bn
    }

    mutating func elaborateBranches(
        _ item: LayerSpec, _ branches: [Located<[LayerSpec]>], input: Flow, scope: NameScope, environment: Environment
    ) -> Flow {
        var outputs: [(Flow, SourceLocation)] = []
        for branch in branches {
            let output =
                branch.value.isEmpty
                ? input : elaborate(branch.value, input: input, scope: scope, environment: environment)
            outputs.append((output, branch.location))
        }
        guard let path = assignName(item, kind: "concat", scope: scope, environment: environment) else {
            return .poisoned
        }
        return concatenate(outputs, path: path, location: item.kind.location)
    }

    mutating func concatenate(_ outputs: [(Flow, SourceLocation)], path: [String], location: SourceLocation) -> Flow {
        guard !outputs.isEmpty else {
            diagnostics.error("'concat' needs at least one branch", category: "MissingKey", at: location)
            return .poisoned
        }
        var shapes: [Shape] = []
        for (flow, _) in outputs {
            guard let shape = flow.shape else { return .poisoned }
            shapes.append(shape)
        }
        let first = shapes[0]
        for (index, shape) in shapes.enumerated()
        where shape.dims.count != first.dims.count
            || (shape.isFeatureMap && (shape.height != first.height || shape.width != first.width))
        {
            let layerList = layers
            let describe = { (i: Int) -> String in
                let layer = layerList[outputs[i].0.layer]
                return "branch \(i + 1) gives \(shapes[i])"
                    + (layer.op == .input ? " (the input)" : " ('\(layer.name)')")
            }
            diagnostics.error(
                "'\(path.joined(separator: "."))' concatenates on channels, so every branch needs the same height and width; \(describe(0)) but \(describe(index))",
                category: "ShapeMismatch", at: location,
                notes: [
                    Note("branch 1 is here", at: outputs[0].1),
                    Note("branch \(index + 1) is here", at: outputs[index].1),
                ])
            return .poisoned
        }
        var channels = 0
        for shape in shapes {
            let (sum, overflow) = channels.addingReportingOverflow(shape.dims[0])
            guard !overflow else { return .poisoned }
            channels = sum
        }
        var dims = first.dims
        dims[0] = channels
        guard let shape = checkedShape(dims, name: path.joined(separator: "."), location: location) else {
            return .poisoned
        }
        return addLayer(path: path, op: .concat, inputs: outputs.map { $0.0.layer }, shape: shape, location: location)
    }

    // MARK: Names

    /// Literal names written in a scope (including transparent children), so auto names avoid them.
    func reserveNames(_ items: [LayerSpec], in scope: NameScope) {
        for item in items {
            // A transparent block's layers are named here too: its names once per scope, so neither a cycle (diagnosed
            // when expanded) nor many instances repeat the walk.
            if item.isBlockInstance, let block = spec.blocks[item.kind.value], block.transparent {
                if scope.reservedBlocks.insert(block.name).inserted { reserveNames(block.body, in: scope) }
                continue
            }
            if let name = item.argument("name"), case .string(let text) = name.value.value {
                scope.reserved.insert(text)
            }
            switch item.children {
            case .residual(let body, let shortcut):
                reserveNames(body, in: scope)
                if case .layers(let layers) = shortcut.value { reserveNames(layers, in: scope) }
            case .branches(let branches):
                for branch in branches { reserveNames(branch.value, in: scope) }
            case .sequence(let children) where item.kind.value == LayerKind.repeat.spelling:
                reserveNames(children, in: scope)
            default: break
            }
        }
    }

    func skipNumber(in scope: NameScope) {
        if scope.numbered { scope.nextIndex += 1 }
    }

    func nameText(_ value: Evaluated) -> String? {
        switch value {
        case .string(let s): s
        case .int(let v): String(v)
        default: nil
        }
    }

    /// The path of a new layer or scope: its `name`, its number in a group, or its kind (`relu`, `relu_1`, …).
    mutating func assignName(_ item: LayerSpec, kind: String, scope: NameScope, environment: Environment) -> [String]? {
        let number = scope.nextIndex
        if scope.numbered { scope.nextIndex += 1 }
        if let argument = item.argument("name") {
            guard let value = evaluate(argument.value, in: environment) else { return nil }
            guard let name = nameText(value), !name.isEmpty, !name.contains(".") else {
                diagnostics.error(
                    "a layer name is a non-empty word without '.'; found \(value.typeDescription)",
                    category: "InvalidValue", at: argument.value.location)
                return nil
            }
            if let first = scope.used[name] {
                let inRepeat = first == argument.value.location
                diagnostics.error(
                    "duplicate layer name '\((scope.path + [name]).joined(separator: "."))'"
                        + (inRepeat
                            ? "; layers inside 'repeat' are instantiated several times, so leave them unnamed" : ""),
                    category: "DuplicateName", at: argument.value.location,
                    notes: inRepeat ? [] : [Note("first used here", at: first)])
                return nil
            }
            scope.used[name] = argument.value.location
            declare(scope.path + [name], at: item.location)
            return scope.path + [name]
        }
        if scope.numbered {
            let name = String(number)
            scope.used[name] = item.location
            declare(scope.path + [name], at: item.location)
            return scope.path + [name]
        }
        var name = kind
        var suffix = scope.nextSuffix[kind] ?? 0
        if suffix > 0 { name = "\(kind)_\(suffix)" }
        while scope.used[name] != nil || scope.reserved.contains(name) {
            suffix += 1
            name = "\(kind)_\(suffix)"
        }
        scope.nextSuffix[kind] = suffix + 1
        scope.used[name] = item.location
        declare(scope.path + [name], at: item.location)
        return scope.path + [name]
    }

    mutating func declare(_ path: [String], at location: SourceLocation) {
        let name = path.joined(separator: ".")
        declared[name] = location
        declarationOrder.append(name)
    }

    /// Finds an earlier layer by name, looking in the current scope first, then in each enclosing one.
    mutating func resolve(_ reference: Located<String>, from scope: NameScope) -> Flow? {
        let candidates = scopedNames(reference.value, from: scope.path)
        if let name = candidates.first(where: { names[$0] != nil }), let id = names[name] {
            return Flow(layer: id, shape: layers[id].outputShape)
        }
        if reference.value == "input" { return Flow(layer: 0, shape: layers[0].outputShape) }
        if diagnostics.hasErrors, candidates.contains(where: abandoned.contains) { return nil }
        unresolved.append((reference, scope.path))
        return nil
    }

    /// The dotted names `name` may stand for from `path`, innermost scope first: `a.b.x`, `a.x`, `x`.
    func scopedNames(_ name: String, from path: [String]) -> [String] {
        (0...path.count).reversed().map { (path.prefix($0) + [name]).joined(separator: ".") }
    }

    mutating func diagnoseUnresolvedReferences() {
        for (reference, path) in unresolved {
            let laterName = scopedNames(reference.value, from: path).first { declared[$0] != nil }
            let later = laterName.map { (name: $0, location: declared[$0]!) }
            if let later {
                diagnostics.error(
                    "'\(reference.value)' is defined later; a layer can only read layers before it",
                    category: "UnknownLayer", at: reference.location,
                    notes: [Note("'\(later.name)' is defined here", at: later.location)])
            } else {
                diagnostics.error(
                    "no layer is named '\(reference.value)'" + didYouMean(reference.value, in: names.keys)
                        + (path.isEmpty ? "" : " (searched from '\(path.joined(separator: "."))' outwards)"),
                    category: "UnknownLayer", at: reference.location)
            }
        }
    }

    // MARK: Layers

    @discardableResult
    mutating func addLayer(
        path: [String], op: Op, inputs: [Int], shape: Shape, parameters: [Parameter] = [], macs: Int = 0,
        otherOps: Int = 0, location: SourceLocation
    ) -> Flow {
        guard layers.count < ElaborationLimits.maximumLayers else {
            if !exceededLayerLimit {
                diagnostics.error(
                    "the model expands to more than \(grouped(ElaborationLimits.maximumLayers)) layers", category: "TooLarge",
                    at: location)
                exceededLayerLimit = true
            }
            return .poisoned
        }
        let id = layers.count
        if pendingMisaligned || inputs.contains(where: misaligned.contains) { misaligned.insert(id) }
        pendingMisaligned = false
        layers.append(
            Layer(
                id: id, path: path, op: op, inputs: inputs, outputShape: shape, parameters: parameters, macs: macs,
                otherOps: otherOps, location: location))
        names[path.joined(separator: ".")] = id
        return Flow(layer: id, shape: shape)
    }

    // MARK: Expectations

    mutating func checkExpectations(_ model: Model) {
        let expect = spec.expect
        if let params = expect.params, params.value != model.parameterCount {
            diagnostics.error(
                "expected \(grouped(params.value)) parameters, computed \(grouped(model.parameterCount)) (\(difference(model.parameterCount - params.value)))",
                category: expectMismatch, at: params.location)
        }
        if let nonTrainable = expect.nonTrainable, nonTrainable.value != model.nonTrainableParameterCount {
            diagnostics.error(
                "expected \(grouped(nonTrainable.value)) non-trainable values (batch-norm running statistics), computed \(grouped(model.nonTrainableParameterCount))",
                category: expectMismatch, at: nonTrainable.location)
        }
        if let macs = expect.macs, macs.value != model.macs {
            diagnostics.error(
                "expected \(grouped(macs.value)) multiply-accumulates, computed \(grouped(model.macs)) (\(difference(model.macs - macs.value)))",
                category: expectMismatch, at: macs.location)
        }
        if let output = expect.output, output.value != model.outputShape.dims {
            diagnostics.error(
                "expected output \(Shape(output.value)), computed \(model.outputShape)", category: expectMismatch,
                at: output.location,
                notes: [
                    Note(
                        "the output comes from '\(model.layers[model.outputLayer].name)'",
                        at: model.layers[model.outputLayer].location)
                ])
        }
    }
}

/// `706 more` / `10 fewer`.
func difference(_ value: Int) -> String {
    value >= 0 ? "\(grouped(value)) more" : "\(grouped(-value)) fewer"
}

extension DiagnosticEngine {
    /// Adds `note` to every error emitted after the first `count` errors (block instantiation context).
    mutating func appendNote(_ note: Note, toErrorsAfter count: Int) {
        var seenErrors = 0
        var updated = diagnostics
        for index in updated.indices where updated[index].severity == .error {
            seenErrors += 1
            if seenErrors > count, !updated[index].notes.contains(note) { updated[index].notes.append(note) }
        }
        replaceAll(updated)
    }
}
