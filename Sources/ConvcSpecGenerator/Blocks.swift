// Parameterised blocks modelled on the reference networks, so that block instantiation, parameter defaults
// (also ones using earlier parameters), expressions, string arguments, nested blocks and repeats with templated
// names are exercised, each on the planner patterns of its network.

/// The block library. Each aims at the pattern of the network it is named after.
enum BlockKind: CaseIterable, Sendable {
    /// MobileNet's depthwise-separable block: NCHWc chains.
    case separable
    /// ResNet's basic block with `shortcut: auto`: Winograd convs with fused residual adds, projections.
    case basic
    /// ResNet-50's bottleneck with an expansion parameter.
    case bottleneck
    /// GoogLeNet's inception block: in-place concats of branches, a named group branch, a ceil-mode pool.
    case inception
    /// DenseNet's dense block (a block instantiating a block in a repeat with templated names).
    case denseBlock
    /// ENet's downsampling block (an indexed pool in its shortcut) and upsampling block (unpools with a pool
    /// named by a string argument).
    case down, up
    /// ENet's asymmetric 1×k, k×1 pair.
    case asymmetric
    /// SqueezeNet's fire module: convs with fused activations feeding a concat.
    case fire

    var name: String {
        switch self {
        case .separable: "separable"
        case .basic: "basic"
        case .bottleneck: "bottleneck"
        case .inception: "inception"
        case .denseBlock: "dense_block"
        case .down: "downsampling"
        case .up: "upsampling"
        case .asymmetric: "asymmetric"
        case .fire: "fire"
        }
    }
}

extension Builder {
    func p(_ name: String) -> SpecValue { .expr(.parameter(name)) }
    func e(_ op: SpecExpr.Operator, _ a: SpecExpr, _ b: SpecExpr) -> SpecValue { .expr(.binary(op, a, b)) }

    /// The definitions a block needs (itself, and the blocks it instantiates).
    mutating func definitions(_ kind: BlockKind) -> [BlockDefinition] {
        let relu = rng.chance(70) ? "relu" : "relu6"
        switch kind {
        case .separable:
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "filters"), BlockParameter(name: "stride", defaultValue: .int(1))],
                body: [
                    layer("conv", ("name", .text("dw")), ("depthwise", .bool(true)), ("kernel", .int(3)), ("stride", p("stride")), ("padding", .int(1)), ("bias", .bool(false))),
                    layer("batch_norm", ("name", .text("dw_bn"))), layer(relu, ("name", .text("dw_relu"))),
                    layer("conv", ("name", .text("pw")), ("filters", p("filters")), ("kernel", .int(1)), ("bias", .bool(false))),
                    layer("batch_norm", ("name", .text("pw_bn"))), layer(relu, ("name", .text("pw_relu"))),
                ])]
        case .basic:
            let body: [SpecNode] = [
                layer("conv", ("name", .text("conv1")), ("filters", p("filters")), ("kernel", .int(3)), ("stride", p("stride")), ("padding", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn1"))), layer("relu"),
                layer("conv", ("name", .text("conv2")), ("filters", p("filters")), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn2"))),
            ]
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "filters"), BlockParameter(name: "stride", defaultValue: .int(1))],
                body: [.residual(arguments: [], body: body, shortcut: .auto), layer("relu")])]
        case .bottleneck:
            let body: [SpecNode] = [
                layer("conv", ("name", .text("conv1")), ("filters", p("width")), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn1"))), layer("relu"),
                layer("conv", ("name", .text("conv2")), ("filters", p("width")), ("kernel", .int(3)), ("stride", p("stride")), ("padding", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn2"))), layer("relu"),
                layer("conv", ("name", .text("conv3")), ("filters", e(.multiply, .parameter("width"), .parameter("expansion"))), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn3"))),
            ]
            return [BlockDefinition(
                name: kind.name,
                parameters: [BlockParameter(name: "width"), BlockParameter(name: "stride", defaultValue: .int(1)), BlockParameter(name: "expansion", defaultValue: .int(4))],
                body: [.residual(arguments: [], body: body, shortcut: rng.chance(70) ? .auto : .projection), layer("relu")])]
        case .inception:
            let branches: [[SpecNode]] = [
                [layer("conv", ("name", .text("branch1")), ("filters", p("c1")), ("kernel", .int(1)), ("activation", .text("relu")))],
                [.group(arguments: [SpecArgument("name", .text("branch2"))], layers: [
                    layer("conv", ("filters", p("c3_reduce")), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu"),
                    layer("conv", ("filters", p("c3")), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu"),
                ], short: false)],
                [layer("max_pool", ("name", .text("pool")), ("kernel", .int(3)), ("stride", .int(1)), ("padding", .int(1)), ("ceil_mode", .bool(true))),
                 layer("conv", ("name", .text("proj")), ("filters", p("pool_proj")), ("kernel", .int(1)))],
            ]
            return [BlockDefinition(
                name: kind.name,
                parameters: [
                    BlockParameter(name: "c1"), BlockParameter(name: "c3_reduce"), BlockParameter(name: "c3"),
                    BlockParameter(name: "pool_proj", defaultValue: .expr(.binary(.floorDivide, .parameter("c1"), .int(2)))),
                ],
                body: [.concat(arguments: [], branches: branches, short: rng.chance(50))])]
        case .denseBlock:
            let layerBody: [SpecNode] = [
                layer("batch_norm", ("name", .text("norm1"))), layer("relu", ("name", .text("relu1"))),
                layer("conv", ("name", .text("conv1")), ("filters", e(.multiply, .parameter("bn_size"), .parameter("growth"))), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("norm2"))), layer("relu", ("name", .text("relu2"))),
                layer("conv", ("name", .text("conv2")), ("filters", p("growth")), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))),
            ]
            let denseLayer = BlockDefinition(
                name: "dense_layer",
                parameters: [BlockParameter(name: "growth", defaultValue: .int(8)), BlockParameter(name: "bn_size", defaultValue: .int(2))],
                body: [.concat(arguments: [], branches: [[], layerBody], short: true)])
            let repeated = SpecNode.repeated(
                arguments: [SpecArgument("count", p("count")), SpecArgument("index", .text("i")), SpecArgument("start", .int(1))],
                layers: [.instance(block: "dense_layer", arguments: [SpecArgument("name", .template([.text("denselayer"), .parameter("i")])), SpecArgument("growth", p("growth"))])])
            let block = BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "count"), BlockParameter(name: "growth", defaultValue: .int(8))], body: [repeated])
            return [denseLayer, block]
        case .down:
            // `/` must divide exactly: the instances pass multiples of 4.
            let quarter = e(.divide, .parameter("filters"), .int(4))
            let body: [SpecNode] = [
                layer("conv", ("name", .text("proj")), ("filters", quarter), ("kernel", .int(2)), ("stride", .int(2)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn1"))), layer("prelu", ("name", .text("prelu1")), ("per_channel", .bool(true))),
                layer("conv", ("name", .text("conv")), ("filters", quarter), ("kernel", .int(3)), ("padding", .int(1))),
                layer("batch_norm", ("name", .text("bn2"))), layer("prelu", ("name", .text("prelu2")), ("per_channel", .bool(true))),
                layer("conv", ("name", .text("expand")), ("filters", p("filters")), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn3"))), layer("spatial_dropout", ("name", .text("dropout")), ("rate", p("rate"))),
            ]
            let shortcut: [SpecNode] = [
                layer("max_pool", ("name", .text("pool")), ("kernel", .int(2)), ("return_indices", .bool(true))),
                layer("channel_pad", ("channels", p("filters"))),
            ]
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "filters"), BlockParameter(name: "rate", defaultValue: .number(0.1))],
                body: [.residual(arguments: [], body: body, shortcut: .layers(shortcut)), layer("prelu", ("name", .text("prelu_out")), ("per_channel", .bool(true)))])]
        case .up:
            let quarter = e(.floorDivide, .parameter("filters"), .int(4))
            let body: [SpecNode] = [
                layer("conv", ("name", .text("proj")), ("filters", quarter), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn1"))), layer("relu", ("name", .text("relu1"))),
                layer("conv_transpose", ("name", .text("conv")), ("filters", quarter), ("kernel", .int(3)), ("stride", .int(2)), ("padding", .int(1)), ("output_padding", .int(1))),
                layer("batch_norm", ("name", .text("bn2"))), layer("relu", ("name", .text("relu2"))),
                layer("conv", ("name", .text("expand")), ("filters", p("filters")), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("bn3"))),
            ]
            let shortcut: [SpecNode] = [
                layer("conv", ("name", .text("shortcut_conv")), ("filters", p("filters")), ("kernel", .int(1)), ("bias", .bool(false))),
                layer("batch_norm", ("name", .text("shortcut_bn"))),
                layer("max_unpool", ("name", .text("unpool")), ("indices", p("pool"))),
            ]
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "filters"), BlockParameter(name: "pool")],
                body: [.residual(arguments: [], body: body, shortcut: .layers(shortcut)), layer("relu", ("name", .text("relu_out")))])]
        case .asymmetric:
            let half = SpecExpr.binary(.floorDivide, .binary(.subtract, .parameter("kernel"), .int(1)), .int(2))
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "filters"), BlockParameter(name: "kernel", defaultValue: .int(5))],
                body: [
                    layer("conv", ("name", .text("conv_1xk")), ("filters", p("filters")), ("kernel", .list([.int(1), p("kernel")])), ("padding", .list([.int(0), .expr(half)])), ("bias", .bool(false))),
                    layer("conv", ("name", .text("conv_kx1")), ("filters", p("filters")), ("kernel", .list([p("kernel"), .int(1)])), ("padding", .list([.expr(half), .int(0)]))),
                    layer("batch_norm", ("name", .text("bn"))), layer("prelu", ("name", .text("prelu")), ("per_channel", .bool(true))),
                ])]
        case .fire:
            return [BlockDefinition(
                name: kind.name, parameters: [BlockParameter(name: "squeeze"), BlockParameter(name: "expand", defaultValue: .expr(.binary(.multiply, .parameter("squeeze"), .int(4))))],
                body: [
                    layer("conv", ("name", .text("squeeze")), ("filters", p("squeeze")), ("kernel", .int(1)), ("activation", .text("relu"))),
                    .concat(arguments: [], branches: [
                        [layer("conv", ("name", .text("expand1x1")), ("filters", p("expand")), ("kernel", .int(1)), ("activation", .text("relu")))],
                        [layer("conv", ("name", .text("expand3x3")), ("filters", p("expand")), ("kernel", .int(3)), ("padding", .int(1)), ("activation", .text("relu")))],
                    ], short: true),
                ])]
        }
    }

    /// Arguments of an instance on `shape`, or nil when the block does not fit it.
    mutating func instanceArguments(_ kind: BlockKind, _ shape: TensorShape) -> [SpecArgument]? {
        func maybeExpression(_ v: Int) -> SpecValue {
            // Arithmetic outside blocks too: `filters: 16 * 2`.
            guard v % 2 == 0, v > 2, rng.chance(10) else { return .int(v) }
            return .expr(.binary(.multiply, .int(v / 2), .int(2)))
        }
        let even = shape.height % 2 == 0 && shape.width % 2 == 0
        switch kind {
        case .separable:
            var a = [SpecArgument("filters", maybeExpression(rng.chance(80) ? groupFilters() : channels()))]
            if rng.chance(35), shape.height > 2 { a.append(SpecArgument("stride", .int(2))) } else if rng.chance(10) { a.append(SpecArgument("stride", .int(1))) }
            return a
        case .basic:
            let stride = even && rng.chance(35) ? 2 : 1
            let f = stride == 2 || rng.chance(40) ? groupFilters() : shape.channels
            var a = [SpecArgument("filters", maybeExpression(f))]
            if stride == 2 { a.append(SpecArgument("stride", .int(2))) }
            return a
        case .bottleneck:
            let width = rng.pick([4, 8, 16])
            var a = [SpecArgument("width", .int(width))]
            if even && rng.chance(30) { a.append(SpecArgument("stride", .int(2))) }
            if rng.chance(40) { a.append(SpecArgument("expansion", .int(rng.pick([1, 2, 4])))) }
            return a
        case .inception:
            var a = [SpecArgument("c1", .int(rng.pick([8, 16, 32, 5]))), SpecArgument("c3_reduce", .int(rng.pick([8, 16, 3]))), SpecArgument("c3", .int(rng.pick([16, 32, 24])))]
            if rng.chance(50) { a.append(SpecArgument("pool_proj", .int(rng.pick([8, 16, 7])))) }
            return a
        case .denseBlock:
            var a = [SpecArgument("count", .int(rng.int(1...3)))]
            if rng.chance(60) { a.append(SpecArgument("growth", .int(rng.pick([4, 8, 16])))) }
            return a
        case .down:
            guard even, shape.height >= 2 else { return nil }
            let f = max(4, (shape.channels + 3) / 4 * 4) + (rng.chance(50) ? 0 : rng.pick([4, 8, 16]))
            var a = [SpecArgument("filters", .int(f))]
            if rng.chance(40) { a.append(SpecArgument("rate", .number(rng.pick([0.01, 0.1, 0.0])))) }
            return a
        case .up:
            let pools = refs.filter { name in
                guard let record = check.names[name]?.indexedPool else { return false }
                return record.output.height == shape.height && record.output.width == shape.width
                    && record.input.height == 2 * shape.height && record.input.width == 2 * shape.width
            }
            guard let pool = pools.isEmpty ? nil : rng.pick(pools), let record = check.names[pool]?.indexedPool else { return nil }
            return [SpecArgument("filters", .int(record.output.channels)), SpecArgument("pool", .text(pool))]
        case .asymmetric:
            var a = [SpecArgument("filters", .int(channels()))]
            if rng.chance(50) { a.append(SpecArgument("kernel", .int(rng.pick([3, 5, 7])))) }
            return a
        case .fire:
            var a = [SpecArgument("squeeze", .int(rng.pick([4, 8, 16, 3])))]
            if rng.chance(50) { a.append(SpecArgument("expand", .int(rng.pick([8, 16, 32])))) }
            return a
        }
    }

    /// Instantiates a block (defining it on first use), named or not, 1–2 times in a row.
    mutating func appendBlock(_ shape: TensorShape, only: BlockKind? = nil) -> Bool {
        var kinds: [(BlockKind, Int)] = [
            (.separable, 5), (.basic, 4), (.bottleneck, 3), (.inception, 3), (.denseBlock, 3), (.down, 2), (.up, 4),
            (.asymmetric, 2), (.fire, 2),
        ]
        if profile == .nchwc { kinds[0].1 *= 3 }
        if profile == .enet { kinds[5].1 *= 8; kinds[7].1 *= 2 }
        // An upsampling block as soon as an indexed pool fits (ENet's decoder).
        let upFits = instanceArguments(.up, shape) != nil
        if upFits { kinds[6].1 *= 12 }
        let kind = only ?? rng.weighted(kinds)
        guard let arguments = instanceArguments(kind, shape) else { return false }
        var blocks = tree.blocks.contains { $0.name == kind.name } ? [] : definitions(kind)
        if kind == .denseBlock, tree.blocks.contains(where: { $0.name == "dense_layer" }) { blocks.removeAll { $0.name == "dense_layer" } }
        var nodes: [SpecNode] = []
        var instance = SpecNode.instance(block: kind.name, arguments: arguments)
        if rng.chance(65) || kind == .down { instance = instance.setting("name", reference(fresh("b", allowInteger: false))) }
        if rng.chance(10), let r = readable(where: { $0.isMap && $0.channels == shape.channels }).filter({ $0 != nameOfLast() }).last {
            instance = instance.setting("input", reference(r))
        }
        nodes.append(instance)
        if rng.chance(20), kind != .down, kind != .up, let second = instanceArguments(kind, shape) {
            // The second instance reads what the first wrote; its shape need not fit, the checker decides.
            nodes.append(SpecNode.instance(block: kind.name, arguments: second))
        }
        // The refs inside a new block are known once it is defined.
        let saved = tree.blocks
        tree.blocks += blocks
        let names = collectRefs(nodes)
        tree.blocks = saved
        return tryAppend(nodes, newRefs: names, blocks: blocks)
    }
}
