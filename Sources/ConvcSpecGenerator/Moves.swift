// Top-level moves that wire statements by name: forks and joins, concats with several readers, dead branches,
// pools and their unpools, groups, repeats, heads, and the moves on flat tensors.

extension Builder {
    /// Reads the current tensor `x` twice and adds: two convs (`add: [a, b]`), a conv and `x` itself (a residual
    /// add the planner fuses into the conv), three operands, or two earlier tensors of one shape.
    mutating func forkAdd(_ shape: TensorShape) -> Bool {
        guard let x = nameCurrent() else { return false }
        var nodes: [SpecNode] = []
        var operands: [String] = []
        func named(_ chain: [SpecNode], input: String?) -> ([SpecNode], String)? {
            guard var chain = chain.isEmpty ? nil : chain else { return nil }
            let name = fresh("a")
            chain[chain.count - 1] = chain[chain.count - 1].setting("name", reference(name))
            if let input { chain[0] = chain[0].setting("input", reference(input)) }
            return (chain, name)
        }
        switch rng.below(10) {
        case 0...3:
            guard let (first, a) = named(keepShape(shape), input: nil), let (second, b) = named(keepShape(shape), input: x) else { return false }
            nodes = first + second
            operands = rng.chance(50) ? [a, b] : [b, a]
        case 4...7:
            let chain = rng.chance(60) ? winogradKeep(shape) : keepShape(shape)
            guard let (first, a) = named(chain, input: nil) else { return false }
            nodes = first
            operands = rng.chance(70) ? [a, x] : [x, a]
        case 8:
            guard let (first, a) = named(keepShape(shape), input: nil), let (second, b) = named(keepShape(shape), input: x) else { return false }
            nodes = first + second
            operands = rng.shuffled([a, b, x])
        default:
            let same = readable { $0 == shape }
            guard same.count >= 2 else { return false }
            let picked = rng.shuffled(same).prefix(2)
            operands = Array(picked)
        }
        var add = leaf("add", [SpecArgument("inputs", .list(operands.map(reference)))], named: rng.chance(40))
        if nodes.isEmpty, rng.chance(50) { add = add.setting("name", reference(fresh("sum"))) }
        nodes.append(add)
        if rng.chance(40) { nodes.append(activation(shape)) }
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// Squeeze-and-excitation: the compact `squeeze_excitation`, or written out (a global pool, 1×1 convs and a
    /// gate) with a `multiply` of the map and the gate in either order; now and then a product of equal shapes.
    mutating func squeezeExcite(_ shape: TensorShape) -> Bool {
        let squeeze = max(1, shape.channels / rng.pick([1, 2, 4, 16]))
        if rng.chance(50) {
            var arguments = [SpecArgument("squeeze_channels", .int(squeeze))]
            if rng.chance(50) { arguments.append(SpecArgument("activation", .text(rng.pick(["relu", "silu", "hardswish", "none"])))) }
            if rng.chance(50) { arguments.append(SpecArgument("scale_activation", .text(rng.pick(["sigmoid", "hardsigmoid", "none"])))) }
            let node = leaf("squeeze_excitation", arguments, named: rng.chance(40))
            return tryAppend([node], newRefs: collectRefs([node]))
        }
        guard let x = nameCurrent() else { return false }
        let gate = fresh("gate")
        var nodes: [SpecNode]
        if rng.chance(80) {
            nodes = [
                layer("global_avg_pool"),
                layer("conv", ("filters", .int(squeeze)), ("kernel", .int(1)), ("activation", .text("relu"))),
                layer("conv", ("filters", .int(shape.channels)), ("kernel", .int(1))),
                layer(rng.pick(["sigmoid", "hardsigmoid"]), ("name", reference(gate))),
            ]
        } else {
            nodes = [layer("conv", ("filters", .int(shape.channels)), ("kernel", .int(1)), ("activation", .text("sigmoid")), ("name", reference(gate)))]
        }
        nodes.append(layer("multiply", ("inputs", .list(rng.shuffled([x, gate]).map(reference))), named: rng.chance(40)))
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// An upsample, nearest or bilinear (now and then with aligned corners): by a scale (2 mostly, or one that
    /// shrinks or leaves fractions), to a size, or to the size of an earlier map (`like`), which may be smaller.
    mutating func upsample(_ shape: TensorShape) -> Bool {
        var arguments: [SpecArgument] = []
        let bilinear = rng.chance(60)
        if bilinear || rng.chance(20) { arguments.append(SpecArgument("mode", .text(bilinear ? "bilinear" : "nearest"))) }
        if bilinear, rng.chance(30) { arguments.append(SpecArgument("align_corners", .bool(rng.chance(80)))) }
        let others = readable { $0.isMap && $0.height * $0.width <= 900 && ($0.height != shape.height || $0.width != shape.width) }
        switch rng.below(3) {
        case 0 where !others.isEmpty:
            arguments.append(SpecArgument("like", reference(rng.pick(others))))
        case 1:
            let size = [1 + rng.below(2 * shape.height + 1), 1 + rng.below(2 * shape.width + 1)]
            arguments.append(SpecArgument("size", rng.chance(30) ? .int(size[0]) : .list(size.map { .int($0) })))
        default:
            arguments.append(SpecArgument("scale", rng.chance(60) ? .int(2) : .number(rng.pick([0.5, 1.5, 2.5, 3]))))
        }
        guard shape.channels * (shape.height * 3) * (shape.width * 3) <= 200_000 else { return false }
        let node = leaf("upsample", arguments, named: rng.chance(40))
        return tryAppend([node], newRefs: collectRefs([node]))
    }

    /// ShuffleNet v2's unit: the channels split in two slices (halves, or an uneven cut), one passed through, the
    /// other through 1×1, depthwise 3×3 and 1×1 convs; concatenated and, now and then, shuffled.
    mutating func splitShuffle(_ shape: TensorShape) -> Bool {
        guard let x = nameCurrent() else { return false }
        let cut = rng.chance(70) ? shape.channels / 2 : 1 + rng.below(shape.channels - 1)
        let kept = fresh("kept"), rest = fresh("rest"), branch = fresh("branch")
        var first = [SpecArgument("input", reference(x)), SpecArgument("end", .int(cut))]
        if rng.chance(30) { first.insert(SpecArgument("start", .int(0)), at: 1) }
        var second = [SpecArgument("input", reference(x)), SpecArgument("start", .int(cut))]
        if rng.chance(30) { second.append(SpecArgument("end", .int(shape.channels))) }
        let width = shape.channels - cut
        var nodes: [SpecNode] = [
            leaf("slice", first).setting("name", reference(kept)),
            leaf("slice", second).setting("name", reference(rest)),
            layer("conv", ("filters", .int(width)), ("kernel", .int(1)), ("activation", .text("relu"))),
            layer("conv", ("filters", .int(width)), ("kernel", .int(3)), ("padding", .int(1)), ("groups", .int(width))),
            layer("conv", ("filters", .int(width)), ("kernel", .int(1)), ("activation", .text("relu")), ("name", reference(branch))),
            layer("concat", ("inputs", .list(rng.shuffled([kept, branch]).map(reference)))),
        ]
        if cut * 2 == shape.channels, rng.chance(70) { nodes.append(layer("channel_shuffle", ("groups", .int(2)))) }
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// Several named writers on `x`, concatenated by `inputs:`, with other readers of the slices (a global pool,
    /// a 1×1 or depthwise conv, a max pool): slices of an in-place concat whose other readers could read NCHWc.
    /// Then a join of the pooled slice with a full-map conv of the concat, or a continuation from the concat.
    mutating func forkConcat(_ shape: TensorShape) -> Bool {
        guard let x = nameCurrent() else { return false }
        var nodes: [SpecNode] = []
        var parts: [(name: String, shape: TensorShape)] = []
        // Mostly the regression's own shape: plain 1×1 convs (NCHWc writers as pixel groups) as the slices.
        let plain = rng.chance(40)
        for i in 0..<rng.weighted([(2, 60), (3, 35), (4, 5)]) {
            var chain: [SpecNode]
            switch plain ? 0 : rng.below(20) {
            case 0 where plain:
                var a = [SpecArgument("filters", .int(rng.pick([16, 16, 32, 48]))), SpecArgument("kernel", .int(1))]
                if rng.chance(30) { a.append(SpecArgument("activation", .text(rng.pick(["relu", "relu6"])))) }
                chain = [leaf("conv", a)]
            case 0...9: chain = pointwise(shape, filters: groupFilters(), keepSize: true)
            case 10...13: chain = depthwise(shape, keepSize: true)
            case 14...16: chain = conv(shape, keepSize: true)
            case 17: chain = winograd(shape)
            default: chain = [maxPool(shape, keepSize: true)]
            }
            guard !chain.isEmpty, let out = shapeAfter(chain, from: shape), out.height == shape.height, out.width == shape.width else { return false }
            if rng.chance(30), chain.count > 1 { chain = [chain[0]] }
            guard let out2 = shapeAfter(chain, from: shape) else { return false }
            let name = fresh("s")
            chain[chain.count - 1] = chain[chain.count - 1].setting("name", reference(name))
            if i > 0 || rng.chance(40) { chain[0] = chain[0].setting("input", reference(x)) }
            nodes += chain
            parts.append((name, out2))
        }
        var inputs = rng.shuffled(parts.map(\.name))
        if rng.chance(10) { inputs.insert(x, at: rng.below(inputs.count + 1)) }
        let cat = fresh("cat")
        nodes.append(.layer(kind: "concat", arguments: [SpecArgument("name", reference(cat)), SpecArgument("inputs", .list(inputs.map(reference)))]))
        let catShape = TensorShape.chw(inputs.reduce(0) { sum, n in sum + (parts.first { $0.name == n }?.shape.channels ?? shape.channels) }, shape.height, shape.width)
        // Other readers of the slices.
        var pooled: [(String, TensorShape)] = []
        var lastReader: String?
        for _ in 0..<rng.weighted([(1, 55), (2, 35), (0, 10)]) {
            let part = rng.pick(parts)
            let reader = fresh("r")
            var node: SpecNode
            var out = TensorShape.chw(part.shape.channels, 1, 1)
            switch plain && rng.chance(70) ? rng.below(5) : rng.below(10) {
            case 0, 1: node = layer("global_avg_pool")
            case 2, 3: node = layer("adaptive_avg_pool", ("output", .int(1)))
            case 4:
                node = layer("avg_pool", ("kernel", pairValue(part.shape.height, part.shape.width)))
            case 5, 6:
                let f = groupFilters()
                node = layer("conv", ("filters", .int(f)), ("kernel", .int(1)))
                out = .chw(f, part.shape.height, part.shape.width)
            case 7:
                node = layer("conv", ("depthwise", .bool(true)), ("kernel", .int(3)), ("padding", .int(1)))
                out = part.shape
            case 8:
                node = maxPool(part.shape)
                guard let o = shapeAfter([node], from: part.shape) else { continue }
                out = o
            default:
                node = layer("relu")
                out = part.shape
            }
            node = node.setting("name", reference(reader)).setting("input", reference(part.name))
            nodes.append(node)
            lastReader = reader
            if out.height == 1 && out.width == 1 { pooled.append((reader, out)) }
        }
        switch plain && !pooled.isEmpty && rng.chance(60) ? 0 : rng.below(10) {
        case 0...3 where !pooled.isEmpty:
            // The regression's join: a pooled slice beside a conv of the whole concat to 1 × 1.
            let q = fresh("q")
            nodes.append(layer("conv", ("name", reference(q)), ("filters", .int(groupFilters())), ("kernel", pairValue(catShape.height, catShape.width)), ("input", reference(cat))))
            var joined = pooled.map(\.0) + [q]
            joined = rng.shuffled(joined)
            nodes.append(.layer(kind: "concat", arguments: [SpecArgument("inputs", .list(joined.map(reference)))]))
        case 4...6:
            var next = rng.chance(60) ? pointwise(catShape, keepSize: true) : keepSize(catShape)
            if next.isEmpty { next = [layer("relu")] }
            next[0] = next[0].setting("input", reference(cat))
            nodes += next
        case 7:
            // Leave a slice reader as the output: the concat is then read by nobody.
            if lastReader == nil { nodes.append(layer("relu", ("input", reference(cat)))) }
        default:
            nodes.append(layer("identity", ("input", reference(cat))))
        }
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// A statement reading `x` that nothing reads (a conv, a pool, a concat, a residual), then the main path
    /// going on from `x`.
    mutating func deadBranch(_ shape: TensorShape) -> Bool {
        guard let x = nameCurrent() else { return false }
        var dead: [SpecNode]
        switch rng.below(10) {
        case 0...3: dead = rng.chance(50) ? conv(shape) : pointwise(shape)
        case 4: dead = [maxPool(shape)]
        case 5: dead = [concatBranches(shape)]
        case 6: dead = residual(shape).map { [$0] } ?? []
        case 7: dead = [adaptiveOrGlobal(shape)]
        default: dead = keepSize(shape)
        }
        guard !dead.isEmpty else { return false }
        dead[0] = dead[0].setting("input", reference(x))
        var next = rng.chance(50) ? keepShape(shape) : keepSize(shape)
        next[0] = next[0].setting("input", reference(x))
        return tryAppend(dead + next, newRefs: collectRefs(dead + next))
    }

    /// Three convs on `x`, a concat of two of them that nothing reads, the output from the third (a concat whose
    /// buffer must live until its last slice is written).
    mutating func deadConcat(_ shape: TensorShape) -> Bool {
        guard let x = nameCurrent() else { return false }
        let f = rng.chance(70) ? groupFilters() : channels()
        var names: [String] = []
        var nodes: [SpecNode] = []
        for i in 0..<3 {
            let name = fresh("c")
            var node = layer("conv", ("name", reference(name)), ("filters", .int(rng.chance(70) ? f : channels())), ("kernel", .int(1)))
            if i > 0 || rng.chance(30) { node = node.setting("input", reference(x)) }
            nodes.append(node)
            names.append(name)
        }
        let pair = rng.chance(50) ? [names[0], names[2]] : [names[2], names[0]]
        nodes.append(.layer(kind: "concat", arguments: (rng.chance(40) ? [SpecArgument("name", reference(fresh("cat")))] : []) + [SpecArgument("inputs", .list(pair.map(reference)))]))
        nodes.append(layer(rng.pick(["relu", "identity", "sigmoid"]), ("input", reference(names[1]))))
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// A max pool keeping its indices, a few shape-keeping layers, and a max_unpool with those indices; or an
    /// unpool of an earlier indexed pool (an ENet block's `pool`) whose output shape the current tensor has.
    mutating func poolUnpool(_ shape: TensorShape) -> Bool {
        let pools = refs.filter { check.names[$0]?.indexedPool?.output == shape }
        if !pools.isEmpty, rng.chance(70) {
            let pool = rng.pick(pools)
            var nodes = rng.chance(40) ? keepShape(shape) : []
            nodes.append(unpool(pool))
            return tryAppend(nodes, newRefs: collectRefs(nodes))
        }
        let name = fresh("p")
        let pool = maxPool(shape, indices: true).setting("name", reference(name))
        guard let pooled = shapeAfter([pool], from: shape) else { return false }
        var nodes = [pool]
        for _ in 0..<rng.int(0...3) { nodes += keepShape(pooled) }
        if rng.chance(15) {
            var u = unpool(name, node: pool)
            u = u.setting("input", reference(name))
            nodes.append(u)
        } else {
            nodes.append(unpool(name, node: pool))
        }
        if rng.chance(30) { nodes += keepShape(shape) }
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    /// A max_unpool of `pool`'s indices; given the pool's node, sometimes with its kernel, stride and padding
    /// written out (the values convc would take from the pool).
    mutating func unpool(_ pool: String, node: SpecNode? = nil) -> SpecNode {
        var a = [SpecArgument("indices", reference(pool))]
        if rng.chance(35), let node, case .layer(_, let args) = node {
            var kernel = args.first { $0.key == "kernel" }?.value
            if kernel == nil { kernel = tree.defaults.first { $0.kind == "max_pool" }?.arguments.first { $0.key == "kernel" }?.value }
            if let kernel { a.append(SpecArgument("kernel", kernel)) }
            if let s = args.first(where: { $0.key == "stride" }) { a.append(SpecArgument("stride", s.value)) }
            if let p = args.first(where: { $0.key == "padding" }) { a.append(SpecArgument("padding", p.value)) }
        }
        return leaf("max_unpool", a, named: rng.chance(20))
    }

    /// A group of one to four steps: named (children numbered, explicit names readable as `g.x`), the short
    /// form `group: [ … ]`, or one reading an earlier tensor.
    mutating func appendGroup(_ shape: TensorShape) -> Bool {
        var layers: [SpecNode] = []
        var s = shape
        for _ in 0..<rng.int(1...4) {
            var next: [SpecNode]
            switch rng.below(12) {
            case 0, 1: next = conv(s)
            case 2: next = pointwise(s)
            case 3: next = depthwise(s)
            case 4: next = convBnAct(s)
            case 5: next = [maxPool(s)]
            case 6: next = [activation(s)]
            case 7: next = [normalization(s)]
            case 8: next = residual(s).map { [$0] } ?? []
            case 9: next = [concatBranches(s)]
            default: next = keepShape(s)
            }
            if rng.chance(25), !next.isEmpty, next[0].argument("name") == nil, case .layer = next[0] {
                next[0] = next[0].setting("name", .text(fresh("m", allowInteger: false)))
            }
            guard !next.isEmpty, let out = shapeAfter(layers + next, from: shape) else { continue }
            layers += next
            s = out
        }
        guard !layers.isEmpty else { return false }
        var arguments: [SpecArgument] = []
        var short = false
        switch rng.below(20) {
        case 0...9: arguments.append(SpecArgument("name", reference(fresh("g", allowInteger: false))))
        case 10...15: short = true
        default:
            let candidates = refs.filter { check.names[$0]?.shape == shape }
            if let r = candidates.isEmpty ? nil : rng.pick(candidates) {
                arguments.append(SpecArgument("input", reference(r)))
                if rng.chance(50) { arguments.insert(SpecArgument("name", reference(fresh("g", allowInteger: false))), at: 0) }
            } else {
                short = true
            }
        }
        let node = SpecNode.group(arguments: arguments, layers: layers, short: short)
        return tryAppend([node], newRefs: collectRefs([node]))
    }

    /// A shape-keeping body repeated 0–3 times, its names built from the index (`r4_$i`, `"r4_${i + 1}"`).
    mutating func appendRepeat(_ shape: TensorShape) -> Bool {
        var body: [SpecNode]
        switch rng.below(10) {
        case 0...3: body = keepShape(shape)
        case 4, 5: body = residual(shape).map { [$0] } ?? []
        case 6: body = winogradKeep(shape)
        case 7: body = [layer("relu"), dropoutLayer(shape)]
        default: body = keepShape(shape) + keepShape(shape)
        }
        guard !body.isEmpty, shapeAfter(body, from: shape) == shape else { return false }
        // A body that names its layers must vary them with the index.
        body = body.map { stripNames($0) }
        var arguments = [SpecArgument("count", .int(rng.weighted([(0, 5), (1, 25), (2, 45), (3, 25)])))]
        if rng.chance(50) {
            arguments.append(SpecArgument("index", .text(rng.pick(["i", "k", "idx"]))))
            let index: String
            if case .text(let s) = arguments[1].value { index = s } else { index = "i" }
            if rng.chance(60) { arguments.append(SpecArgument("start", .int(rng.pick([0, 1, 2, 5])))) }
            if case .layer = body[0] {
                let prefix = fresh("r", allowInteger: false) + "_"
                let name: SpecValue = rng.chance(50)
                    ? .template([.text(prefix), .parameter(index)])
                    : .template([.text(prefix), .expr(.binary(.add, .parameter(index), .int(1)))])
                body[0] = body[0].setting("name", name)
            }
        }
        return tryAppend([.repeated(arguments: arguments, layers: body)])
    }

    func stripNames(_ node: SpecNode) -> SpecNode {
        switch node {
        case .layer, .instance: return node.setting("name", nil)
        case .group(let a, let layers, let short): return .group(arguments: a.filter { $0.key != "name" }, layers: layers.map(stripNames), short: short || a.count == 1)
        case .repeated(let a, let layers): return .repeated(arguments: a, layers: layers.map(stripNames))
        case .residual(let a, let body, let shortcut):
            let s: SpecShortcut = if case .layers(let l) = shortcut { .layers(l.map(stripNames)) } else { shortcut }
            return .residual(arguments: a.filter { $0.key != "name" }, body: body.map(stripNames), shortcut: s)
        case .concat(let a, let branches, let short):
            return .concat(arguments: a.filter { $0.key != "name" }, branches: branches.map { $0.map(stripNames) }, short: short)
        }
    }

    /// Pool or not, flatten, dense layers: the classifier head in the middle of a network, after which the
    /// flat moves take over.
    mutating func flattenDense(_ shape: TensorShape) -> Bool {
        var nodes: [SpecNode] = []
        if shape.elements > 2048 || rng.chance(30) {
            nodes.append(rng.chance(50) ? layer("global_avg_pool") : layer("adaptive_avg_pool", ("output", pairValue(min(2, shape.height), min(2, shape.width)))))
        }
        nodes.append(layer("flatten"))
        nodes.append(denseLayer())
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    mutating func denseLayer(units wanted: Int? = nil) -> SpecNode {
        var a = [SpecArgument("units", .int(wanted ?? rng.pick([1, 3, 8, 10, 16, 17, 32, 64])))]
        a += bias(fusedNorm: false)
        a += fusedActivation(30)
        return leaf("dense", a, named: rng.chance(30))
    }

    /// Continues from an earlier tensor (`input: name`), leaving what came after it to be read by others or
    /// by nobody.
    mutating func readBack(_ shape: TensorShape) -> Bool {
        let last = nameOfLast()
        let candidates = refs.filter { $0 != last && check.names[$0]?.shape.isMap == true }
        guard !candidates.isEmpty else { return false }
        let r = rng.pick(candidates)
        guard let s = check.names[r]?.shape else { return false }
        var nodes: [SpecNode]
        switch rng.below(10) {
        case 0...3: nodes = keepSize(s)
        case 4: nodes = [concatBranches(s)]
        case 5: nodes = residual(s).map { [$0] } ?? []
        case 6: nodes = [.group(arguments: [], layers: keepShape(s), short: false)]
        default: nodes = conv(s)
        }
        guard !nodes.isEmpty else { return false }
        nodes[0] = nodes[0].setting("input", reference(r))
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    // MARK: Flat tensors

    mutating func flatStep() -> Bool {
        let shape = current
        switch rng.below(20) {
        case 0...6: return appendChain([denseLayer()])
        case 7...9: return tryAppend([activation(shape)])
        case 10: return tryAppend([normalization(shape)].filter { if case .layer("batch_norm", _) = $0 { true } else { false } })
        case 11: return tryAppend([dropoutLayer(shape)])
        case 12: return tryAppend([layer(rng.chance(50) ? "identity" : "flatten")])
        case 13, 14:
            guard let x = nameCurrent() else { return false }
            let units = rng.pick([4, 8, 16, 17])
            let a = fresh("d"), b = fresh("d")
            var nodes = [layer("dense", ("name", reference(a)), ("units", .int(units))), layer("dense", ("name", reference(b)), ("units", .int(units)), ("input", reference(x)))]
            nodes.append(layer("add", ("inputs", .list([reference(a), reference(b)]))))
            return tryAppend(nodes, newRefs: [a, b])
        case 15, 16:
            guard let x = nameCurrent() else { return false }
            let a = fresh("d")
            var nodes = [layer("dense", ("name", reference(a)), ("units", .int(rng.pick([3, 8, 16]))))]
            let other: SpecValue = rng.chance(50) ? reference(x) : .text("input")
            nodes.append(layer("concat", ("inputs", .list(rng.chance(50) ? [reference(a), other] : [other, reference(a)]))))
            if case .text("input") = other, tree.input.count != 1 { return false }
            return tryAppend(nodes, newRefs: [a])
        case 17:
            let body = [layer("dense", ("units", .int(shape.channels))), layer("relu")]
            return tryAppend([.residual(arguments: [], body: body, shortcut: .omitted)])
        case 18:
            let layers = [denseLayer(), activation(shape)]
            return tryAppend([.group(arguments: rng.chance(50) ? [SpecArgument("name", .text(fresh("head", allowInteger: false)))] : [], layers: layers, short: true)])
        default:
            return tryAppend([layer("softmax")])
        }
    }
}
