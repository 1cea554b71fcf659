// YAML tree → `ModelSpec`: checks the spec's structure, keys and literal types; evaluates nothing.

import ConvcDiagnostics

/// Decodes a parsed spec. Reports unknown keys and kinds, missing keys and literal values of the wrong type;
/// returns nil only when there is no usable `input` or `layers`.
func decodeSpec(_ root: YAMLNode, diagnostics: inout DiagnosticEngine) -> ModelSpec? {
    var decoder = SpecDecoder(diagnostics: diagnostics)
    let spec = decoder.decodeModel(root)
    diagnostics = decoder.diagnostics
    // Past the node budget the spec is incomplete; checking it would only report the cut.
    return decoder.reportedBudget ? nil : spec
}

struct SpecDecoder {
    var diagnostics: DiagnosticEngine
    var blockNames: Set<String> = []
    var blockSignatures: [String: [String]] = [:]
    /// Keys given in `defaults:`, which then need not be written on each layer.
    var defaultKeysByKind: [String: Set<String>] = [:]
    /// Nodes decoded so far. YAML aliases let a small file name a node exponentially often; past the budget the
    /// spec is rejected rather than expanded.
    var visitedNodes = 0
    var reportedBudget = false
    static let nodeBudget = 1_000_000

    /// Counts one decoded node; false (after one error) once the budget is spent.
    mutating func spend(at location: SourceLocation) -> Bool {
        visitedNodes += 1
        guard visitedNodes > Self.nodeBudget else { return true }
        if !reportedBudget {
            reportedBudget = true
            diagnostics.error(
                "the spec expands to more than \(grouped(Self.nodeBudget)) YAML nodes (through aliases?); convc stops here",
                category: "TooLarge", at: location)
        }
        return false
    }

    /// Keys suggested for misspellings in the layer being decoded.
    var suggestedKeys: Set<String> = []

    func defaultKeys(_ kind: String) -> Set<String> { defaultKeysByKind[kind] ?? [] }

    /// The pairs of a mapping with every repeated key reported and dropped, so the first one written counts
    /// (as at every level of a spec; YAML itself would let the last one win silently).
    mutating func distinctPairs(
        _ pairs: [(key: YAMLNode, value: YAMLNode)], in context: String
    ) -> [(key: YAMLNode, value: YAMLNode)] {
        var seen: [String: SourceLocation] = [:]
        return pairs.filter { pair in
            guard let key = pair.key.scalar else { return true }
            if let first = seen[key] {
                diagnostics.error(
                    "duplicate key '\(key)' in \(context)", category: "DuplicateKey", at: pair.key.location,
                    notes: [Note("first written here", at: first)])
                return false
            }
            seen[key] = pair.key.location
            return true
        }
    }

    static let topLevelKeys = ["model", "description", "input", "expect", "defaults", "blocks", "layers"]
    static let expectKeys = ["params", "non_trainable", "macs", "output"]

    // MARK: Model

    mutating func decodeModel(_ root: YAMLNode) -> ModelSpec? {
        if root.isNull {
            diagnostics.error(
                "the spec is empty; expected a mapping with 'input' and 'layers'", category: "EmptySpec",
                at: SourceLocation(file: root.location.file, line: 1, column: 1))
            return nil
        }
        guard let pairs = root.mapping else {
            diagnostics.error(
                "a spec is a mapping with 'input' and 'layers'; found \(root.typeDescription)",
                category: "SpecStructure", at: root.location)
            return nil
        }
        var fields: [String: (key: YAMLNode, value: YAMLNode)] = [:]
        for pair in pairs {
            guard let key = pair.key.scalar else {
                diagnostics.error("keys must be plain names", category: "SpecStructure", at: pair.key.location)
                continue
            }
            if !Self.topLevelKeys.contains(key) {
                diagnostics.error(
                    "unknown top-level key '\(key)'"
                        + (closestMatch(to: key, in: Self.topLevelKeys).map { "; did you mean '\($0)'?" }
                            ?? "; the keys are \(Self.topLevelKeys.joined(separator: ", "))"),
                    category: "UnknownKey", at: pair.key.location)
                continue
            }
            if let previous = fields[key] {
                diagnostics.error(
                    "duplicate key '\(key)'", category: "DuplicateKey", at: pair.key.location,
                    notes: [Note("first written here", at: previous.key.location)])
                continue
            }
            fields[key] = pair
        }

        var name = "model"
        if let model = fields["model"] {
            if let text = model.value.scalar, !model.value.isNull {
                name = text
            } else {
                diagnostics.error(
                    "'model' must be a name; found \(model.value.typeDescription)", category: "WrongType",
                    at: model.value.location)
            }
        }

        let input = fields["input"].flatMap { decodeInputShape($0.value) }
        if fields["input"] == nil {
            diagnostics.error(
                "missing 'input'; write the input shape as [channels, height, width], e.g. input: [3, 224, 224]",
                category: "MissingKey", at: root.location)
        }

        var expect = ExpectSpec()
        if let node = fields["expect"] { expect = decodeExpect(node.value) }

        if let node = fields["blocks"] {
            // Names first, so layers and blocks can instantiate blocks defined later in the file.
            collectBlockNames(node.value)
        }
        var defaults: [String: [ArgumentSpec]] = [:]
        if let node = fields["defaults"] { defaults = decodeDefaults(node.value) }
        defaultKeysByKind = defaults.mapValues { Set($0.map(\.key.value)) }

        var blocks: [String: BlockSpec] = [:]
        if let node = fields["blocks"] { blocks = decodeBlocks(node.value) }

        var layers: [LayerSpec] = []
        if let node = fields["layers"] {
            layers = decodeLayerList(node.value, context: "'layers'")
        } else {
            diagnostics.error(
                "missing 'layers'; list the network's layers under 'layers:'", category: "MissingKey",
                at: root.location)
        }
        guard let input else { return nil }
        return ModelSpec(
            name: name, input: input, expect: expect, defaults: defaults, blocks: blocks, layers: layers,
            location: root.location)
    }

    mutating func decodeInputShape(_ node: YAMLNode) -> Located<[Int]>? {
        guard let items = node.sequence, items.count == 3 || items.count == 1 else {
            diagnostics.error(
                "'input' must be [channels, height, width] (or [features]); found \(node.typeDescription)",
                category: "WrongType", at: node.location)
            return nil
        }
        var dims: [Int] = []
        for item in items {
            guard case .int(let value) = decodeScalar(item), value > 0 else {
                diagnostics.error(
                    "input dimensions must be positive integers; found \(item.typeDescription)",
                    category: "InvalidValue", at: item.location)
                return nil
            }
            dims.append(value)
        }
        var elements = 1
        for dim in dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= 1 << 40 else {
                diagnostics.error(
                    "\(dims.map(String.init).joined(separator: "×")) is too large for one tensor; convc accepts at most 2^40 values",
                    category: "TooLarge", at: node.location)
                return nil
            }
            elements = product
        }
        return Located(dims, at: node.location)
    }

    mutating func decodeExpect(_ node: YAMLNode) -> ExpectSpec {
        var expect = ExpectSpec()
        guard let pairs = node.mapping else {
            diagnostics.error(
                "'expect' must be a mapping with any of \(Self.expectKeys.joined(separator: ", "))",
                category: "WrongType", at: node.location)
            return expect
        }
        for (keyNode, value) in distinctPairs(pairs, in: "'expect'") {
            let key = keyNode.scalar ?? ""
            switch key {
            case "params", "non_trainable", "macs":
                guard case .int(let number) = decodeScalar(value), number >= 0 else {
                    diagnostics.error(
                        "'expect.\(key)' must be a non-negative integer; found \(value.typeDescription)",
                        category: "WrongType", at: value.location)
                    continue
                }
                let located = Located(number, at: value.location)
                if key == "params" { expect.params = located }
                if key == "macs" { expect.macs = located }
                if key == "non_trainable" { expect.nonTrainable = located }
            case "output":
                if let shape = decodeInputShape(value) { expect.output = shape }
            default:
                diagnostics.error(
                    "unknown key '\(key)' in 'expect'"
                        + (closestMatch(to: key, in: Self.expectKeys).map { "; did you mean '\($0)'?" }
                            ?? "; the keys are \(Self.expectKeys.joined(separator: ", "))"),
                    category: "UnknownKey", at: keyNode.location)
            }
        }
        return expect
    }

    // MARK: Blocks

    mutating func collectBlockNames(_ node: YAMLNode) {
        for (key, _) in node.mapping ?? [] {
            if let (name, parameters) = try? parseSignature(key.scalar ?? "").get() {
                blockNames.insert(name)
                blockSignatures[name] = parameters.map(\.name)
            }
        }
    }

    mutating func decodeBlocks(_ node: YAMLNode) -> [String: BlockSpec] {
        guard let pairs = node.mapping else {
            diagnostics.error(
                "'blocks' must be a mapping from 'name(parameters)' to a list of layers", category: "WrongType",
                at: node.location)
            return [:]
        }
        var blocks: [String: BlockSpec] = [:]
        for (keyNode, value) in pairs {
            let signature = keyNode.scalar ?? ""
            switch parseSignature(signature) {
            case .failure(let error):
                diagnostics.error(
                    "invalid block signature '\(signature)': \(error.message); write it as name(param, other = 1)",
                    category: "BlockSignature", at: keyNode.location)
            case .success(let (name, parameters)):
                if LayerSchema.byName[name] != nil {
                    diagnostics.error(
                        "block '\(name)' has the name of a built-in layer kind; choose another name",
                        category: "DuplicateName", at: keyNode.location)
                    continue
                }
                if let previous = blocks[name] {
                    diagnostics.error(
                        "block '\(name)' is defined twice", category: "DuplicateName", at: keyNode.location,
                        notes: [Note("first defined here", at: previous.location)])
                    continue
                }
                var decodedParameters: [BlockSpec.Parameter] = []
                var seen: Set<String> = []
                for parameter in parameters {
                    if !seen.insert(parameter.name).inserted || ["name", "input"].contains(parameter.name) {
                        diagnostics.error(
                            "block parameter '\(parameter.name)' is "
                                + (seen.contains(parameter.name) && !["name", "input"].contains(parameter.name)
                                    ? "declared twice" : "reserved for the instance's name and input"),
                            category: "BlockSignature", at: keyNode.location)
                        continue
                    }
                    let defaultValue = parameter.defaultText.map { text in
                        Located(decodeScalarText(text, plain: true, at: keyNode.location), at: keyNode.location)
                    }
                    decodedParameters.append(
                        BlockSpec.Parameter(
                            name: parameter.name, defaultValue: defaultValue, location: keyNode.location))
                }
                let (body, transparent) = decodeBlockBody(value, name: name)
                blocks[name] = BlockSpec(
                    name: name, parameters: decodedParameters, body: body, transparent: transparent,
                    location: keyNode.location)
            }
        }
        return blocks
    }

    /// A block's layers: a list, or `{ transparent: true, layers: [...] }`.
    mutating func decodeBlockBody(_ node: YAMLNode, name: String) -> (body: [LayerSpec], transparent: Bool) {
        guard let pairs = node.mapping else { return (decodeLayerList(node, context: "block '\(name)'"), false) }
        var transparent = false
        var body: [LayerSpec]?
        var misspelt = false
        for (keyNode, value) in pairs {
            switch keyNode.scalar {
            case "layers": body = decodeLayerList(value, context: "block '\(name)'")
            case "transparent":
                guard let flag = value.scalar.flatMap(Bool.init) else {
                    diagnostics.error(
                        "'transparent' of block '\(name)' must be true or false", category: "WrongType",
                        at: value.location)
                    continue
                }
                transparent = flag
            default:
                let key = keyNode.scalar ?? ""
                let hint = closestMatch(to: key, in: ["layers", "transparent"]).map { "did you mean '\($0)'? " } ?? ""
                diagnostics.error(
                    "block '\(name)' has no key '\(key)'; \(hint)a block is a list of layers or { transparent: true, layers: [...] }",
                    category: "UnknownKey", at: keyNode.location)
                misspelt = true
            }
        }
        guard let body else {
            // A misspelt `layers` is one error, not also a missing key.
            if misspelt { return ([], transparent) }
            diagnostics.error(
                "block '\(name)' needs 'layers' (a list of layers)", category: "MissingKey", at: node.location)
            return ([], transparent)
        }
        return (body, transparent)
    }

    /// `basic(filters, stride = 1)` → name and parameters with default texts.
    func parseSignature(_ text: String) -> Result<(String, [(name: String, defaultText: String?)]), ExpressionError> {
        let trimmed = text.trimmingSpaces()
        guard let open = trimmed.firstIndex(of: "(") else {
            guard trimmed.isIdentifier else { return .failure(ExpressionError(message: "not a name")) }
            return .success((trimmed, []))
        }
        guard trimmed.hasSuffix(")") else { return .failure(ExpressionError(message: "missing ')'")) }
        let name = String(trimmed[..<open]).trimmingSpaces()
        guard name.isIdentifier else { return .failure(ExpressionError(message: "'\(name)' is not a name")) }
        let inner = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
        var parameters: [(String, String?)] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "=", maxSplits: 1)
            let parameter = pieces.first.map { String($0).trimmingSpaces() } ?? ""
            if parameter.isEmpty && String(inner).trimmingSpaces().isEmpty { continue }
            guard parameter.isIdentifier else {
                return .failure(ExpressionError(message: "'\(parameter)' is not a parameter name"))
            }
            parameters.append((parameter, pieces.count == 2 ? String(pieces[1]).trimmingSpaces() : nil))
        }
        return .success((name, parameters))
    }

    // MARK: Defaults

    mutating func decodeDefaults(_ node: YAMLNode) -> [String: [ArgumentSpec]] {
        guard let pairs = node.mapping else {
            diagnostics.error(
                "'defaults' must map layer kinds to arguments, e.g. conv: { kernel: 3, padding: 1 }",
                category: "WrongType", at: node.location)
            return [:]
        }
        var defaults: [String: [ArgumentSpec]] = [:]
        for (keyNode, value) in distinctPairs(pairs, in: "'defaults'") {
            let kind = keyNode.scalar ?? ""
            guard let schema = LayerSchema.byName[kind], schema.structure == .leaf || schema.structure == .concat
            else {
                diagnostics.error(
                    "unknown layer kind '\(kind)' in 'defaults'"
                        + (knownOp(named: kind).map(knownOpAdvice) ?? didYouMean(kind, in: LayerSchema.byName.keys)),
                    category: "UnknownLayerKind", at: keyNode.location)
                continue
            }
            guard let argumentPairs = value.mapping else {
                diagnostics.error(
                    "defaults for '\(kind)' must be a mapping of its keys", category: "WrongType", at: value.location)
                continue
            }
            var arguments: [ArgumentSpec] = []
            for (argumentKey, argumentValue) in distinctPairs(argumentPairs, in: "'defaults.\(kind)'") {
                let key = argumentKey.scalar ?? ""
                if key == "name" || key == "input" {
                    diagnostics.error(
                        "'\(key)' cannot have a default; it belongs to one layer", category: "UnknownKey",
                        at: argumentKey.location)
                    continue
                }
                if let argument = decodeArgument(key: argumentKey, value: argumentValue, schema: schema) {
                    arguments.append(argument)
                }
            }
            defaults[kind] = arguments
        }
        return defaults
    }

    // MARK: Layers

    mutating func decodeLayerList(_ node: YAMLNode, context: String) -> [LayerSpec] {
        if node.mapping != nil || node.scalar != nil, !node.isNull {
            // A single layer where a list is expected: accept it as a one-item list.
            return [decodeLayer(node) ?? invalidLayer(at: node.location)]
        }
        guard let items = node.sequence else {
            diagnostics.error(
                "\(context) must be a list of layers; found \(node.typeDescription)", category: "WrongType",
                at: node.location)
            return []
        }
        return items.map { decodeLayer($0) ?? invalidLayer(at: $0.location) }
    }

    func invalidLayer(at location: SourceLocation) -> LayerSpec {
        LayerSpec(
            kind: Located("<invalid>", at: location), arguments: [], children: .none, isBlockInstance: false,
            location: location, isValid: false)
    }

    mutating func decodeLayer(_ node: YAMLNode) -> LayerSpec? {
        guard spend(at: node.location) else { return nil }
        let kindNode: YAMLNode
        let body: YAMLNode?
        switch node.content {
        case .scalar(let text, _) where !node.isNull && text.isIdentifier:
            kindNode = node
            body = nil
        case .mapping(let pairs) where pairs.count == 1:
            kindNode = pairs[0].key
            body = pairs[0].value.isNull ? nil : pairs[0].value
        case .mapping(let pairs) where pairs.count > 1:
            let kinds = pairs.compactMap { $0.key.scalar }.filter {
                LayerSchema.byName[$0] != nil || blockNames.contains($0)
            }
            diagnostics.error(
                "a layer is a mapping with one key, its kind; found \(pairs.count) keys"
                    + (kinds.count >= 1
                        ? "; indent the other keys under '\(kinds[0])': e.g. - \(kinds[0]): { … }" : ""),
                category: "SpecStructure", at: pairs[1].key.location)
            return nil
        default:
            diagnostics.error(
                "expected a layer (a kind such as 'relu', or 'conv: { … }'); found \(node.typeDescription)",
                category: "SpecStructure", at: node.location)
            return nil
        }
        let kind = kindNode.scalar ?? ""
        let kindLocation = kindNode.location

        if blockNames.contains(kind) {
            return decodeBlockInstance(kind, kindLocation: kindLocation, body: body, location: node.location)
        }
        guard let schema = LayerSchema.byName[kind] else {
            let candidates = Array(LayerSchema.byName.keys) + Array(blockNames)
            let blocks = blockNames.sorted().map { "'\($0)'" }.joined(separator: ", ")
            diagnostics.error(
                "unknown layer kind '\(kind)'"
                    + (knownOp(named: kind).map(knownOpAdvice)
                        ?? closestMatch(to: kind, in: candidates).map { "; did you mean '\($0)'?" }
                        ?? (blockNames.isEmpty ? "" : "; the spec's blocks are \(blocks)")),
                category: "UnknownLayerKind", at: kindLocation)
            return nil
        }

        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        if let body {
            if let mapping = body.mapping {
                pairs = mapping
            } else if schema.structure == .concat, body.sequence != nil {
                // `concat: [branch, branch]` is short for `concat: { branches: [...] }`.
                pairs = [(YAMLNode(.scalar("branches", plain: true), at: body.location), body)]
            } else if schema.structure == .group || schema.structure == .repeatBlock, body.sequence != nil {
                pairs = [(YAMLNode(.scalar("layers", plain: true), at: body.location), body)]
            } else {
                diagnostics.error(
                    "arguments of '\(kind)' must be a mapping, e.g. \(kind): { \(schema.keys.dropFirst(2).first?.name ?? "name"): … }; found \(body.typeDescription)",
                    category: "WrongType", at: body.location)
                return nil
            }
        }

        var arguments: [ArgumentSpec] = []
        var isValid = true
        suggestedKeys = []
        var structural: [String: YAMLNode] = [:]
        let structuralKeys = LayerSchema.structuralKeys(schema.structure)
        let distinct = distinctPairs(pairs, in: "'\(kind)'")
        let written = Set(distinct.compactMap(\.key.scalar))
        for (keyNode, value) in distinct {
            let key = keyNode.scalar ?? ""
            if structuralKeys.contains(key) {
                structural[key] = value
                continue
            }
            if let argument = decodeArgument(key: keyNode, value: value, schema: schema) {
                arguments.append(argument)
            } else {
                isValid = false
            }
        }

        for key in schema.keys
        where key.required && !written.contains(key.name) && !defaultKeys(schema.name).contains(key.name) {
            isValid = false
            // A misspelt key was already reported with this one as its suggestion.
            if suggestedKeys.contains(key.name) { continue }
            let layerName = pairs.first { $0.key.scalar == "name" }?.value.scalar
            diagnostics.error(
                "\(layerName.map { "'\($0)' (\(kind))" } ?? "'\(kind)'") needs '\(key.name)' (\(key.type.description))",
                category: "MissingKey", at: kindLocation)
        }

        var children = LayerChildren.none
        switch schema.structure {
        case .leaf:
            break
        case .group, .repeatBlock:
            if let layers = structural["layers"] {
                children = .sequence(decodeLayerList(layers, context: "'\(kind).layers'"))
            } else {
                diagnostics.error(
                    "'\(kind)' needs 'layers' (a list of layers)", category: "MissingKey", at: kindLocation)
            }
        case .residual:
            guard let bodyNode = structural["body"] else {
                diagnostics.error(
                    "'residual' needs 'body' (a list of layers)", category: "MissingKey", at: kindLocation)
                return nil
            }
            let bodyLayers = decodeLayerList(bodyNode, context: "'residual.body'")
            var shortcut = Located(ShortcutSpec.identity, at: kindLocation)
            if let shortcutNode = structural["shortcut"] {
                shortcut = decodeShortcut(shortcutNode)
            }
            children = .residual(body: bodyLayers, shortcut: shortcut)
        case .concat:
            if let branches = structural["branches"] {
                guard let items = branches.sequence else {
                    diagnostics.error(
                        "'concat.branches' must be a list of branches, each a layer or a list of layers",
                        category: "WrongType", at: branches.location)
                    return nil
                }
                children = .branches(
                    items.map { item in
                        if item.isNull { return Located([], at: item.location) }
                        if let list = item.sequence, list.isEmpty { return Located([], at: item.location) }
                        return Located(decodeLayerList(item, context: "a concat branch"), at: item.location)
                    })
                if arguments.contains(where: { $0.key.value == "inputs" }) {
                    diagnostics.error(
                        "'concat' takes either 'branches' or 'inputs', not both", category: "SpecStructure",
                        at: kindLocation)
                }
            } else if !arguments.contains(where: { $0.key.value == "inputs" }) {
                diagnostics.error(
                    "'concat' needs 'branches' (layers run on the same input) or 'inputs' (names of earlier layers)",
                    category: "MissingKey", at: kindLocation)
                return nil
            }
        }
        return LayerSpec(
            kind: Located(kind, at: kindLocation), arguments: arguments, children: children, isBlockInstance: false,
            location: node.location, isValid: isValid)
    }

    mutating func decodeShortcut(_ node: YAMLNode) -> Located<ShortcutSpec> {
        if let text = node.scalar, !node.isNull {
            switch text {
            case "identity": return Located(.identity, at: node.location)
            case "auto": return Located(.auto, at: node.location)
            case "projection": return Located(.projection, at: node.location)
            default:
                if !(LayerSchema.byName[text] != nil || blockNames.contains(text)) {
                    diagnostics.error(
                        "unknown shortcut '\(text)'" + didYouMean(text, in: ["identity", "auto", "projection"])
                            + "; use identity, auto, projection or a list of layers",
                        category: "InvalidValue", at: node.location)
                    return Located(.identity, at: node.location)
                }
            }
        }
        return Located(.layers(decodeLayerList(node, context: "'residual.shortcut'")), at: node.location)
    }

    mutating func decodeBlockInstance(
        _ name: String, kindLocation: SourceLocation, body: YAMLNode?, location: SourceLocation
    ) -> LayerSpec? {
        var arguments: [ArgumentSpec] = []
        if let body {
            guard let pairs = body.mapping else {
                diagnostics.error(
                    "arguments of block '\(name)' must be a mapping, e.g. \(name): { \(blockSignatures[name]?.first ?? "name"): … }",
                    category: "WrongType", at: body.location)
                return nil
            }
            var seen: Set<String> = []
            for (keyNode, value) in pairs {
                let key = keyNode.scalar ?? ""
                guard seen.insert(key).inserted else {
                    diagnostics.error(
                        "duplicate argument '\(key)' for block '\(name)'", category: "DuplicateKey",
                        at: keyNode.location)
                    continue
                }
                arguments.append(
                    ArgumentSpec(
                        key: Located(key, at: keyNode.location),
                        value: Located(decodeValue(value), at: value.location)))
            }
        }
        return LayerSpec(
            kind: Located(name, at: kindLocation), arguments: arguments, children: .none, isBlockInstance: true,
            location: location)
    }

    /// Decodes one argument and checks the literal's type against the schema (expressions are checked later).
    mutating func decodeArgument(key keyNode: YAMLNode, value: YAMLNode, schema: LayerKindSchema) -> ArgumentSpec? {
        let key = keyNode.scalar ?? ""
        guard let keySchema = schema.key(key) else {
            let valid = schema.keys.map(\.name) + LayerSchema.structuralKeys(schema.structure)
            let suggestion = closestMatch(to: key, in: valid)
            if let suggestion { suggestedKeys.insert(suggestion) }
            diagnostics.error(
                "'\(schema.name)' has no key '\(key)'"
                    + (suggestion.map { "; did you mean '\($0)'?" } ?? "; its keys are \(valid.joined(separator: ", "))"),
                category: "UnknownKey", at: keyNode.location)
            return nil
        }
        let decoded = decodeValue(value)
        if let problem = literalTypeProblem(decoded, keySchema.type) {
            diagnostics.error(
                problem.message(for: "'\(schema.name).\(key)'", type: keySchema.type), category: problem.category,
                at: problem.location ?? value.location)
            return nil
        }
        return ArgumentSpec(key: Located(key, at: keyNode.location), value: Located(decoded, at: value.location))
    }

    // MARK: Values

    mutating func decodeValue(_ node: YAMLNode) -> ValueExpr {
        guard spend(at: node.location) else { return .null }
        switch node.content {
        case .scalar(let text, let plain):
            return decodeScalarText(text, plain: plain, at: node.location)
        case .sequence(let items):
            var values: [Located<ValueExpr>] = []
            for item in items {
                values.append(Located(decodeValue(item), at: item.location))
            }
            return .list(values)
        case .mapping:
            return .mapping
        }
    }

    mutating func decodeScalar(_ node: YAMLNode) -> ValueExpr { decodeValue(node) }

    func decodeScalarText(_ text: String, plain: Bool, at location: SourceLocation) -> ValueExpr {
        if text.contains("$") {
            switch parseExpression(text) {
            case .success(let expr):
                // A bare `$name` may also stand for a layer name; the checker decides by the parameter's value.
                return .expr(relocate(expr, base: location, plain: plain))
            case .failure:
                if let parts = parseTemplate(text) {
                    return .template(
                        parts.map { part in
                            if case .expr(let expr) = part {
                                return .expr(relocate(expr, base: location, plain: plain))
                            }
                            return part
                        })
                }
                return .string(text)
            }
        }
        guard plain else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        let digits = text.replacingOccurrences("_", "")
        if let value = Int(digits) { return .int(value) }
        if isIntegerArithmetic(text), case .success(let expr) = parseExpression(text) {
            return .expr(relocate(expr, base: location, plain: plain))
        }
        if digits.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }), digits.contains(where: \.isNumber) {
            return .number(.infinity)  // an integer too large for 64 bits
        }
        if let value = Double(digits) { return .number(value) }
        return .string(text)
    }

    /// Text such as `32 * 2` or `(224 - 7) // 2`: digits and operators only, with an operator between two numbers
    /// (a leading sign alone is a number, and `1e-3` has a letter).
    private func isIntegerArithmetic(_ text: String) -> Bool {
        let operators: Set<Character> = ["+", "-", "*", "/", "%", "(", ")"]
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == " " || $0 == "_" || operators.contains($0)) }),
            text.contains(where: \.isNumber)
        else { return false }
        return text.drop { $0 == " " || $0 == "-" || $0 == "+" }.contains { operators.contains($0) }
    }

    private func relocate(_ expr: Expr, base: SourceLocation, plain: Bool) -> Expr {
        switch expr {
        case .int: return expr
        case .variable(let name, let offset):
            var location = base
            if plain { location.column += offset.column - 1 }
            return .variable(name, location)
        case .negate(let inner): return .negate(relocate(inner, base: base, plain: plain))
        case .binary(let op, let a, let b):
            return .binary(op, relocate(a, base: base, plain: plain), relocate(b, base: base, plain: plain))
        }
    }
}

/// The largest size, stride, padding, count or channel number convc accepts (2^24): far beyond any real network,
/// and small enough that the products of shape arithmetic cannot overflow 64-bit integers.
let maximumSize = 1 << 24

/// What is wrong with a literal for a key: the value found, where (a list item), and whether it is the wrong type
/// or a value out of range.
struct LiteralProblem {
    var found: String
    var location: SourceLocation?
    var category: String

    /// `'conv.filters' must be a positive integer; found 'eight'`, or for a size past the limit,
    /// `'conv.stride' is 9223372036854775807; convc accepts at most 16,777,216`.
    func message(for key: String, type: ArgumentType) -> String {
        category == "TooLarge"
            ? "\(key) is \(found); convc accepts at most \(grouped(maximumSize))"
            : "\(key) must be \(type.description); \(found)"
    }
}

/// Why a literal cannot have `type`, or nil when it can (or is an expression, checked when evaluated).
func literalTypeProblem(_ value: ValueExpr, _ type: ArgumentType) -> LiteralProblem? {
    func found(_ value: ValueExpr, at location: SourceLocation? = nil) -> LiteralProblem {
        let text: String
        var category = "WrongType"
        switch value {
        case .int(let v):
            text = "found \(v)"
            category = "InvalidValue"
        case .number(let v):
            text = v.isInfinite ? "found an integer too large for 64 bits" : "found \(v)"
            if v.isInfinite { category = "Overflow" }
        case .string(let s): text = "found '\(s)'"
        case .bool(let b): text = "found \(b)"
        case .null: text = "found null"
        case .list(let items): text = "found a list of \(items.count)"
        case .expr: text = "found an expression"
        case .template: text = "found a template"
        case .mapping: text = "found a mapping"
        }
        return LiteralProblem(found: text, location: location, category: category)
    }
    func tooLarge(_ v: Int, at location: SourceLocation? = nil) -> LiteralProblem? {
        guard abs(v) > maximumSize else { return nil }
        return LiteralProblem(found: "\(v)", location: location, category: "TooLarge")
    }
    func items(_ items: [Located<ValueExpr>], minimum: Int) -> LiteralProblem? {
        for item in items {
            switch item.value {
            case .expr, .template: continue
            case .int(let v) where v >= minimum:
                if let problem = tooLarge(v, at: item.location) { return problem }
            default: return found(item.value, at: item.location)
            }
        }
        return nil
    }
    if case .expr = value { return nil }
    if case .template = value { return nil }
    switch type {
    case .integer(let minimum):
        guard case .int(let v) = value else { return found(value) }
        return v < minimum ? found(value) : tooLarge(v)
    case .pair(let minimum):
        if case .int(let v) = value { return v < minimum ? found(value) : tooLarge(v) }
        guard case .list(let list) = value, list.count == 2 else { return found(value) }
        return items(list, minimum: minimum)
    case .padding:
        if case .string(let s) = value { return s == "same" || s == "valid" ? nil : found(value) }
        if case .int(let v) = value { return v < 0 ? found(value) : tooLarge(v) }
        guard case .list(let list) = value, list.count == 2 || list.count == 4 else { return found(value) }
        return items(list, minimum: 0)
    case .bool:
        if case .bool = value { return nil }
        return found(value)
    case .number:
        if case .int = value { return nil }
        if case .number(let v) = value, v.isFinite { return nil }
        return found(value)
    case .layerName:
        if case .string = value { return nil }
        if case .int = value { return nil }  // group children are named by number
        return found(value)
    case .layerNames:
        guard case .list(let list) = value, !list.isEmpty else { return found(value) }
        for item in list {
            switch item.value {
            case .string, .int, .expr, .template: continue
            default: return found(item.value, at: item.location)
            }
        }
        return nil
    case .activation:
        guard case .string(let s) = value else { return found(value) }
        return ArgumentType.activationSpellings.contains(s) ? nil : found(value)
    case .choice(let words):
        guard case .string(let s) = value else { return found(value) }
        return words.contains(s) ? nil : found(value)
    case .warnings:
        if case .string(let s) = value { return acceptableWarnings.contains(s) ? nil : found(value) }
        guard case .list(let list) = value, !list.isEmpty else { return found(value) }
        for item in list {
            guard case .string(let s) = item.value, acceptableWarnings.contains(s) else { return found(item.value, at: item.location) }
        }
        return nil
    }
}

extension String {
    var isIdentifier: Bool {
        guard let first = unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0) }
    }

    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
