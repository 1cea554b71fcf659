// Layer and structure proposals for one input shape. Each maker aims at a family of planner decisions; the
// checker decides validity, so a maker may propose something invalid now and then and simply be retried.

extension Builder {
    // MARK: Leaves

    /// A leaf with the spec's `defaults:` applied: arguments equal to a default are left out (so layers rely on
    /// `defaults:`), and keys a default would change get their language default written out (so the layer means
    /// what the maker meant).
    mutating func layer(_ kind: String, _ arguments: (String, SpecValue)..., named: Bool = false) -> SpecNode {
        leaf(kind, arguments.map { SpecArgument($0.0, $0.1) }, named: named)
    }

    mutating func leaf(_ kind: String, _ arguments: [SpecArgument], named: Bool = false) -> SpecNode {
        var arguments = arguments
        if named, !arguments.contains(where: { $0.key == "name" }) {
            arguments.insert(SpecArgument("name", reference(fresh(namePrefix(kind)))), at: 0)
        }
        return .layer(kind: kind, arguments: applyDefaults(kind, arguments))
    }

    func namePrefix(_ kind: String) -> String {
        switch kind {
        case "conv": "conv"
        case "batch_norm": "bn"
        case "max_pool", "avg_pool": "pool"
        case "concat": "cat"
        case "add": "sum"
        default: "x"
        }
    }

    func applyDefaults(_ kind: String, _ arguments: [SpecArgument]) -> [SpecArgument] {
        guard let entry = tree.defaults.first(where: { $0.kind == kind }) else { return arguments }
        var arguments = arguments
        for d in entry.arguments {
            if let i = arguments.firstIndex(where: { $0.key == d.key }) {
                if arguments[i].value == d.value { arguments.remove(at: i) }
            } else if let value = languageDefault(kind, d.key, arguments) {
                arguments.append(SpecArgument(d.key, value))
            }
        }
        return arguments
    }

    func languageDefault(_ kind: String, _ key: String, _ arguments: [SpecArgument]) -> SpecValue? {
        switch (kind, key) {
        case ("conv", "padding"), ("conv_transpose", "padding"), ("max_pool", "padding"), ("avg_pool", "padding"),
            ("conv_transpose", "output_padding"):
            return .int(0)
        case ("conv", "stride"), ("conv_transpose", "stride"), ("conv", "dilation"), ("max_pool", "dilation"):
            return .int(1)
        case ("conv", "bias"), ("conv_transpose", "bias"), ("dense", "bias"), ("avg_pool", "count_include_pad"):
            return .bool(true)
        case ("max_pool", "ceil_mode"), ("avg_pool", "ceil_mode"), ("prelu", "per_channel"): return .bool(false)
        case ("max_pool", "stride"), ("avg_pool", "stride"):
            return arguments.first { $0.key == "kernel" }?.value ?? tree.defaults.first { $0.kind == kind }?.arguments.first { $0.key == "kernel" }?.value
        case ("batch_norm", "eps"): return .number(1e-5)
        case ("leaky_relu", "slope"): return .number(0.01)
        case ("dropout", "rate"): return .number(0.5)
        default: return nil
        }
    }

    func pairValue(_ h: Int, _ w: Int, listChance: Bool = false) -> SpecValue {
        h == w && !listChance ? .int(h) : .list([.int(h), .int(w)])
    }

    mutating func bias(fusedNorm: Bool) -> [SpecArgument] {
        if fusedNorm { return rng.chance(85) ? [SpecArgument("bias", .bool(false))] : [] }
        switch rng.below(10) {
        case 0, 1: return [SpecArgument("bias", .bool(false))]
        case 2: return [SpecArgument("bias", .bool(true))]
        default: return []
        }
    }

    /// Mostly none; every value `activation:` takes otherwise.
    mutating func fusedActivation(_ percent: Int = 25) -> [SpecArgument] {
        guard rng.chance(percent) else { return [] }
        let name = rng.weighted([
            ("relu", 30), ("relu6", 20), ("leaky_relu", 15), ("sigmoid", 12), ("tanh", 12), ("silu", 10), ("hardswish", 10),
            ("hardsigmoid", 6), ("gelu", 8), ("none", 6),
        ])
        return [SpecArgument("activation", .text(name))]
    }

    /// batch_norm (sometimes with eps or momentum) then an activation: the pattern the planner folds and fuses.
    mutating func normAndActivation(_ shape: TensorShape, activations: [String] = ["relu", "relu", "relu6", "leaky_relu", "prelu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu"]) -> [SpecNode] {
        var norm: [SpecArgument] = []
        if rng.chance(20) { norm.append(SpecArgument("eps", .number(rng.pick([0.001, 1e-5, 0.0001])))) }
        if rng.chance(5) { norm.append(SpecArgument("momentum", .number(0.1))) }
        var nodes = [leaf("batch_norm", norm)]
        if rng.chance(85) { nodes.append(activationLayer(rng.pick(activations), shape)) }
        return nodes
    }

    mutating func activationLayer(_ kind: String, _ shape: TensorShape) -> SpecNode {
        switch kind {
        case "leaky_relu":
            return rng.chance(50) ? layer("leaky_relu", ("slope", .number(rng.pick([0.2, 0.1, 0.01, 0.3])))) : layer("leaky_relu")
        case "gelu":
            return rng.chance(40) ? layer("gelu", ("approximate", .text(rng.pick(["tanh", "none"])))) : layer("gelu")
        case "prelu":
            var a: [SpecArgument] = []
            if rng.chance(60) { a.append(SpecArgument("per_channel", .bool(rng.chance(75)))) }
            if rng.chance(25) { a.append(SpecArgument("init", .number(rng.pick([0.1, 0.25, 0.5])))) }
            return leaf("prelu", a)
        default:
            return layer(kind)
        }
    }

    // MARK: Convolutions

    /// Any conv: kernels 1–7 and rectangular, strides 1–3, every padding spelling, dilation, groups, bias and
    /// fused activations. `keepSize` keeps height and width (concat branches, residual bodies).
    mutating func conv(_ shape: TensorShape, keepSize: Bool = false, filters wanted: Int? = nil) -> [SpecNode] {
        for _ in 0..<8 {
            let node = convLeaf(shape, keepSize: keepSize, filters: wanted)
            guard let out = shapeAfter([node], from: shape) else { continue }
            if keepSize && (out.height != shape.height || out.width != shape.width) { continue }
            return [node]
        }
        return []
    }

    mutating func convLeaf(_ shape: TensorShape, keepSize: Bool, filters wanted: Int?) -> SpecNode {
        var (kh, kw) = rng.weighted([
            ((1, 1), 18), ((3, 3), 36), ((5, 5), 8), ((7, 7), 3), ((2, 2), 5), ((1, 3), 4), ((3, 1), 4), ((1, 5), 2),
            ((5, 1), 2), ((2, 3), 2), ((4, 4), 2),
        ])
        if kh > shape.height + 2 { kh = 1 }
        if kw > shape.width + 2 { kw = 1 }
        var stride = (1, 1)
        if !keepSize {
            stride = rng.weighted([((1, 1), 60), ((2, 2), 30), ((3, 3), 3), ((1, 2), 3), ((2, 1), 3)])
            if shape.height < 4 { stride.0 = 1 }
            if shape.width < 4 { stride.1 = 1 }
        }
        var dilation = (1, 1)
        if rng.chance(10), kh > 1 || kw > 1 {
            let d = rng.chance(80) ? 2 : 3
            dilation = (kh > 1 ? d : 1, kw > 1 ? d : 1)
            if rng.chance(20) { dilation = (d, d) }
        }
        let eh = dilation.0 * (kh - 1) + 1, ew = dilation.1 * (kw - 1) + 1
        var filters = wanted ?? channels()
        var groups = 1
        if rng.chance(12), shape.channels > 1 {
            let c = shape.channels
            let divisors = (2...c).filter { c % $0 == 0 && ($0 <= 16 || $0 == c) }
            if let g = divisors.isEmpty ? nil : rng.pick(divisors) {
                if let wanted {
                    if wanted % g == 0 { groups = g }
                } else {
                    groups = g
                    if filters % g != 0 { filters = g * rng.pick([1, 2, 4]) }
                }
            }
        }
        var a = [SpecArgument("filters", .int(filters)), SpecArgument("kernel", pairValue(kh, kw, listChance: rng.chance(5)))]
        if stride != (1, 1) || rng.chance(8) { a.append(SpecArgument("stride", pairValue(stride.0, stride.1))) }
        // Padding, in every spelling.
        if keepSize {
            switch rng.below(10) {
            case 0, 1, 2:
                a.append(SpecArgument("padding", .text("same")))
            case 3, 4:
                let t = rng.int(0...(eh - 1)), l = rng.int(0...(ew - 1))
                a.append(SpecArgument("padding", .list([.int(t), .int(eh - 1 - t), .int(l), .int(ew - 1 - l)])))
            default:
                if eh % 2 == 1 && ew % 2 == 1 {
                    a.append(SpecArgument("padding", pairValue(eh / 2, ew / 2)))
                } else {
                    a.append(SpecArgument("padding", .text("same")))
                }
            }
        } else {
            switch rng.below(20) {
            case 0...7: if eh / 2 > 0 || ew / 2 > 0 || rng.chance(30) { a.append(SpecArgument("padding", pairValue(eh / 2, ew / 2))) }
            case 8...10: a.append(SpecArgument("padding", .text("same")))
            case 11: a.append(SpecArgument("padding", .text("valid")))
            case 12, 13: a.append(SpecArgument("padding", .list([.int(rng.int(0...(eh / 2 + 1))), .int(rng.int(0...(ew / 2 + 1)))])))
            case 14, 15:
                a.append(SpecArgument("padding", .list([.int(rng.int(0...eh - 1)), .int(rng.int(0...eh - 1)), .int(rng.int(0...ew - 1)), .int(rng.int(0...ew - 1))])))
            default: break
            }
        }
        if dilation != (1, 1) { a.append(SpecArgument("dilation", pairValue(dilation.0, dilation.1))) }
        if groups > 1 { a.append(SpecArgument("groups", .int(groups))) }
        a += bias(fusedNorm: false)
        a += fusedActivation()
        return leaf("conv", a)
    }

    /// Depthwise convs in every spelling (depthwise: true, groups = channels, a channel multiplier), mostly
    /// 3×3 at stride 1 or 2 (the NCHWc kernel's), with batch norm and ReLU/ReLU6 after them.
    mutating func depthwise(_ shape: TensorShape, keepSize: Bool = false) -> [SpecNode] {
        let c = shape.channels
        let k = rng.weighted([((3, 3), 70), ((5, 5), 10), ((1, 1), 4), ((7, 7), 3), ((3, 1), 3)])
        let stride = keepSize || shape.height < 3 ? 1 : rng.weighted([(1, 65), (2, 35)])
        let dilation = k.0 == 3 && rng.chance(8) ? 2 : 1
        let followed = rng.chance(65)
        var a: [SpecArgument]
        switch rng.below(20) {
        case 0...9: a = [SpecArgument("depthwise", .bool(true))]
        case 10...12: a = [SpecArgument("depthwise", .bool(true)), SpecArgument("filters", .int(c))]
        case 13...15: a = [SpecArgument("filters", .int(c)), SpecArgument("groups", .int(c))]
        case 16, 17: a = [SpecArgument("depthwise", .bool(true)), SpecArgument("filters", .int(2 * c))]
        default: a = [SpecArgument("depthwise", .bool(true)), SpecArgument("groups", .int(c))]
        }
        a.append(SpecArgument("kernel", pairValue(k.0, k.1)))
        if stride > 1 { a.append(SpecArgument("stride", .int(stride))) }
        let ph = dilation * (k.0 - 1) / 2, pw = dilation * (k.1 - 1) / 2
        if keepSize || rng.chance(85) {
            a.append(SpecArgument("padding", rng.chance(15) ? .text("same") : pairValue(ph, pw)))
        }
        if dilation > 1 { a.append(SpecArgument("dilation", .int(dilation))) }
        a += bias(fusedNorm: followed)
        if !followed { a += fusedActivation(20) }
        var nodes = [leaf("conv", a)]
        if followed { nodes += normAndActivation(shape, activations: ["relu", "relu6", "relu6", "relu", "leaky_relu"]) }
        if let out = shapeAfter(nodes, from: shape), !keepSize || (out.height == shape.height && out.width == shape.width) {
            return nodes
        }
        return []
    }

    /// MobileNet's depthwise-separable pair: depthwise 3×3 (stride 1 or 2) → bn → ReLU/ReLU6, then 1×1 to a
    /// multiple of 16 → bn → ReLU/ReLU6: the chains the planner keeps NCHWc end to end.
    mutating func separablePair(_ shape: TensorShape) -> Bool {
        let act = rng.chance(60) ? "relu" : "relu6"
        let stride = shape.height >= 4 && rng.chance(shape.height * shape.width >= 256 ? 55 : 25) ? 2 : 1
        var nodes = [layer("conv", ("depthwise", .bool(true)), ("kernel", .int(3)), ("stride", .int(stride)), ("padding", .int(1)), ("bias", .bool(false)))]
        nodes += [layer("batch_norm"), layer(act)]
        if rng.chance(25) { nodes.removeLast() }
        nodes.append(layer("conv", ("filters", .int(rng.chance(85) ? groupFilters() : channels())), ("kernel", .int(1)), ("bias", .bool(false))))
        nodes += [layer("batch_norm"), layer(act)]
        if rng.chance(15) { nodes.removeLast() }
        if rng.chance(45) {
            let name = fresh("sep", allowInteger: false)
            return tryAppend([.group(arguments: [SpecArgument("name", .text(name))], layers: nodes, short: false)], newRefs: [name])
        }
        return tryAppend(nodes)
    }

    /// 1×1 convs, filters mostly a multiple of 16 (pixel groups; NCHWc readers and writers).
    mutating func pointwise(_ shape: TensorShape, filters wanted: Int? = nil, keepSize: Bool = false) -> [SpecNode] {
        if wanted == nil, shape.height * shape.width <= 196, rng.chance(12) {
            // Deep 1×1 convs on small maps sum their input channels in chunks of 64, with 4 × 3 tiles when the
            // filters fill 32-channel blocks.
            let deep = shape.channels % 64 == 0 && shape.channels > 64 ? shape.channels : 128
            var nodes: [SpecNode] = []
            if deep != shape.channels { nodes += [layer("conv", ("filters", .int(deep)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu")] }
            nodes.append(layer("conv", ("filters", .int(rng.pick([32, 64, 96, 48]))), ("kernel", .int(1))))
            if rng.chance(50) { nodes += normAndActivation(shape, activations: ["relu", "relu6"]) }
            return shapeAfter(nodes, from: shape) != nil ? nodes : []
        }
        let filters = wanted ?? (rng.chance(70) ? groupFilters() : channels())
        let followed = rng.chance(55)
        var a = [SpecArgument("filters", .int(filters)), SpecArgument("kernel", .int(1))]
        if !keepSize, rng.chance(8), shape.height > 1 { a.append(SpecArgument("stride", .int(2))) }
        a += bias(fusedNorm: followed)
        if !followed { a += fusedActivation(20) }
        var nodes = [leaf("conv", a)]
        if followed { nodes += normAndActivation(shape, activations: ["relu", "relu6", "relu", "prelu"]) }
        return shapeAfter(nodes, from: shape) != nil ? nodes : []
    }

    /// A stride-1 3×3 conv that Winograd takes (≥ 32 input channels, filters a multiple of 16), after a 1×1 conv
    /// that widens a narrow input.
    mutating func winograd(_ shape: TensorShape, filters wanted: Int? = nil) -> [SpecNode] {
        var nodes: [SpecNode] = []
        var input = shape
        if shape.channels < 32 {
            let widen = pointwise(shape, filters: rng.pick([32, 48, 64, 32]), keepSize: true)
            guard let out = shapeAfter(widen, from: shape) else { return [] }
            nodes += widen
            input = out
        }
        let filters = wanted ?? groupFilters()
        let followed = rng.chance(55)
        var a = [SpecArgument("filters", .int(filters)), SpecArgument("kernel", .int(3))]
        switch rng.below(10) {
        case 0, 1: a.append(SpecArgument("padding", .text("same")))
        case 2: a.append(SpecArgument("padding", .list([.int(1), .int(1)])))
        case 3: a.append(SpecArgument("padding", .list([.int(1), .int(1), .int(1), .int(1)])))
        case 4 where shape.height >= 9 && shape.width >= 9: break  // unpadded: a map two smaller
        default: a.append(SpecArgument("padding", .int(1)))
        }
        a += bias(fusedNorm: followed)
        if !followed { a += fusedActivation(25) }
        nodes.append(leaf("conv", a))
        if followed { nodes += normAndActivation(input, activations: ["relu", "relu", "relu6", "leaky_relu", "sigmoid"]) }
        return shapeAfter(nodes, from: shape) != nil ? nodes : []
    }

    mutating func convBnAct(_ shape: TensorShape, keepSize: Bool = false) -> [SpecNode] {
        var c = conv(shape, keepSize: keepSize)
        guard case .layer(let kind, var a)? = c.first else { return [] }
        a.removeAll { $0.key == "bias" || $0.key == "activation" }
        if rng.chance(85) { a.append(SpecArgument("bias", .bool(false))) }
        c = [.layer(kind: kind, arguments: applyDefaults(kind, a))]
        guard let out = shapeAfter(c, from: shape) else { return [] }
        return c + normAndActivation(out)
    }

    /// Transposed convs: the upsampling spellings (2×2 stride 2, 3×3 stride 2 with output padding, 4×4 stride 2
    /// padding 1), stride 1, dilation, groups, rectangular kernels.
    mutating func convTranspose(_ shape: TensorShape) -> SpecNode {
        struct Variant { var k: (Int, Int); var s: Int; var p: (Int, Int); var op: Int; var d: Int }
        var v = rng.weighted([
            (Variant(k: (2, 2), s: 2, p: (0, 0), op: 0, d: 1), 25), (Variant(k: (3, 3), s: 2, p: (1, 1), op: 1, d: 1), 20),
            (Variant(k: (4, 4), s: 2, p: (1, 1), op: 0, d: 1), 10), (Variant(k: (3, 3), s: 1, p: (1, 1), op: 0, d: 1), 15),
            (Variant(k: (3, 3), s: 2, p: (0, 0), op: 0, d: 1), 8), (Variant(k: (3, 3), s: 1, p: (2, 2), op: 1, d: 2), 12),
            (Variant(k: (2, 2), s: 2, p: (0, 0), op: 1, d: 1), 5), (Variant(k: (1, 3), s: 1, p: (0, 1), op: 0, d: 1), 5),
            (Variant(k: (3, 3), s: 3, p: (0, 0), op: 2, d: 1), 5),
        ])
        if v.s > 1, (shape.height - 1) * v.s + v.k.0 > 44 || (shape.width - 1) * v.s + v.k.1 > 44 {
            v = Variant(k: (3, 3), s: 1, p: (1, 1), op: 0, d: 1)
        }
        var filters = channels()
        var a: [SpecArgument] = []
        if rng.chance(20), shape.channels % 2 == 0 {
            let g = shape.channels % 4 == 0 && rng.chance(50) ? 4 : 2
            if filters % g != 0 { filters = g * rng.pick([1, 2, 4]) }
            a.append(SpecArgument("groups", .int(g)))
        }
        a.insert(SpecArgument("filters", .int(filters)), at: 0)
        a.insert(SpecArgument("kernel", pairValue(v.k.0, v.k.1)), at: 1)
        if v.s != 1 || rng.chance(10) { a.append(SpecArgument("stride", .int(v.s))) }
        if v.p != (0, 0) || rng.chance(10) { a.append(SpecArgument("padding", pairValue(v.p.0, v.p.1))) }
        if v.op != 0 { a.append(SpecArgument("output_padding", .int(v.op))) }
        if v.d != 1 { a.append(SpecArgument("dilation", .int(v.d))) }
        a += bias(fusedNorm: false)
        a += fusedActivation(20)
        return leaf("conv_transpose", a)
    }

    // MARK: Pools

    mutating func maxPool(_ shape: TensorShape, keepSize: Bool = false, indices: Bool = false) -> SpecNode {
        for _ in 0..<8 {
            var a: [SpecArgument] = []
            let (kh, kw) = keepSize ? (3, 3) : rng.weighted([((2, 2), 35), ((3, 3), 40), ((2, 3), 4), ((1, 1), 4), ((4, 4), 4), ((5, 5), 3)])
            a.append(SpecArgument("kernel", pairValue(kh, kw)))
            let dilation = !keepSize && rng.chance(8) ? 2 : 1
            let eh = dilation * (kh - 1) + 1, ew = dilation * (kw - 1) + 1
            if keepSize {
                a.append(SpecArgument("stride", .int(1)))
                a.append(SpecArgument("padding", .int(1)))
            } else {
                switch rng.below(20) {
                case 0...7: break
                case 8...12: a.append(SpecArgument("stride", .int(1)))
                case 13...18: a.append(SpecArgument("stride", .int(2)))
                default: a.append(SpecArgument("stride", .list([.int(1), .int(2)])))
                }
                switch rng.below(10) {
                case 0...5: break
                case 6...8: a.append(SpecArgument("padding", pairValue(eh / 2, ew / 2)))
                default: a.append(SpecArgument("padding", .list([.int(rng.int(0...eh / 2)), .int(rng.int(0...ew / 2))])))
                }
            }
            if dilation > 1 { a.append(SpecArgument("dilation", .int(dilation))) }
            if rng.chance(25) { a.append(SpecArgument("ceil_mode", .bool(true))) } else if rng.chance(5) { a.append(SpecArgument("ceil_mode", .bool(false))) }
            if indices { a.append(SpecArgument("return_indices", .bool(true))) }
            let node = leaf("max_pool", a)
            if let out = shapeAfter([node], from: shape), !keepSize || (out.height == shape.height && out.width == shape.width) {
                return node
            }
        }
        return layer("max_pool", ("kernel", .int(1)))
    }

    mutating func avgPool(_ shape: TensorShape, keepSize: Bool = false) -> SpecNode {
        for _ in 0..<8 {
            var a: [SpecArgument] = []
            let (kh, kw) = keepSize ? (3, 3) : rng.weighted([((2, 2), 40), ((3, 3), 35), ((3, 2), 5), ((4, 4), 5), ((1, 1), 3)])
            a.append(SpecArgument("kernel", pairValue(kh, kw)))
            var padded = false
            if keepSize {
                a.append(SpecArgument("stride", .int(1)))
                a.append(SpecArgument("padding", .int(1)))
                padded = true
            } else {
                switch rng.below(10) {
                case 0...4: break
                case 5, 6: a.append(SpecArgument("stride", .int(1)))
                default: a.append(SpecArgument("stride", .int(2)))
                }
                if rng.chance(40) {
                    a.append(SpecArgument("padding", pairValue(kh / 2, kw / 2)))
                    padded = kh / 2 > 0 || kw / 2 > 0
                }
            }
            if rng.chance(25) { a.append(SpecArgument("ceil_mode", .bool(true))) }
            if padded && rng.chance(45) || rng.chance(5) { a.append(SpecArgument("count_include_pad", .bool(rng.chance(80) ? false : true))) }
            let node = leaf("avg_pool", a)
            if let out = shapeAfter([node], from: shape), !keepSize || (out.height == shape.height && out.width == shape.width) {
                return node
            }
        }
        return layer("avg_pool", ("kernel", .int(1)))
    }

    /// Global and adaptive pools (1 × 1 ones read NCHWc; others shrink to a fixed size, or now and then grow).
    mutating func adaptiveOrGlobal(_ shape: TensorShape, named: Bool = false) -> SpecNode {
        switch rng.below(10) {
        case 0, 1, 2: return layer("global_avg_pool", named: named)
        case 3, 4: return layer("global_max_pool", named: named)
        case 5, 6: return layer("adaptive_avg_pool", ("output", .int(1)), named: named)
        case 7 where shape.height == shape.width:
            return layer("avg_pool", ("kernel", .int(shape.height)), named: named)
        default:
            let h = rng.chance(5) ? shape.height + 2 : rng.int(1...max(1, shape.height))
            let w = rng.chance(60) ? min(h, shape.width) : rng.int(1...max(1, shape.width))
            return layer("adaptive_avg_pool", ("output", pairValue(h, w)), named: named)
        }
    }

    // MARK: Shape-keeping layers

    mutating func normalization(_ shape: TensorShape) -> SpecNode {
        if rng.chance(65) {
            var a: [SpecArgument] = []
            if rng.chance(35) { a.append(SpecArgument("eps", .number(rng.pick([0.001, 1e-5, 0.0001, 0.01])))) }
            if rng.chance(8) { a.append(SpecArgument("momentum", .number(0.1))) }
            return leaf("batch_norm", a)
        }
        var a = [SpecArgument("size", .int(rng.pick([3, 5, 2, 4])))]
        if rng.chance(40) { a.append(SpecArgument("alpha", .number(rng.pick([0.0001, 0.001, 0.01])))) }
        if rng.chance(40) { a.append(SpecArgument("beta", .number(rng.pick([0.75, 0.5])))) }
        if rng.chance(40) { a.append(SpecArgument("k", rng.chance(50) ? .int(2) : .number(1.0))) }
        return leaf("local_response_norm", a)
    }

    mutating func activation(_ shape: TensorShape) -> SpecNode {
        let kind = rng.weighted([
            ("relu", 25), ("relu6", 12), ("leaky_relu", 12), ("prelu", 12), ("sigmoid", 10), ("tanh", 10), ("softmax", 8),
            ("silu", 8), ("hardswish", 8), ("hardsigmoid", 6), ("gelu", 8),
        ])
        return activationLayer(kind, shape)
    }

    mutating func dropoutLayer(_ shape: TensorShape) -> SpecNode {
        let kind = shape.isMap && rng.chance(40) ? "spatial_dropout" : "dropout"
        return rng.chance(60) ? layer(kind, ("rate", .number(rng.pick([0.2, 0.1, 0.5, 0.0, 0.25])))) : layer(kind)
    }

    mutating func channelPad(_ shape: TensorShape) -> SpecNode {
        let c = shape.channels
        let target: Int
        switch rng.below(4) {
        case 0: target = (c + 15) / 16 * 16 == c ? c + 16 : (c + 15) / 16 * 16
        case 1: target = 2 * c
        case 2: target = c
        default: target = c + rng.int(1...9)
        }
        return layer("channel_pad", ("channels", .int(target)))
    }

    /// A shape-keeping (same C×H×W) leaf or short chain, for residual bodies, repeats and unpool paths.
    mutating func keepShape(_ shape: TensorShape) -> [SpecNode] {
        for _ in 0..<6 {
            let nodes: [SpecNode]
            switch rng.below(12) {
            case 0, 1, 2: nodes = conv(shape, keepSize: true, filters: shape.channels) + (rng.chance(60) ? normAndActivation(shape) : [])
            case 3: nodes = depthwise(shape, keepSize: true).filter { node in
                    if case .layer("conv", let a) = node, a.contains(where: { $0.key == "filters" && $0.value == .int(2 * shape.channels) }) { return false }
                    return true
                }
            case 4: nodes = [normalization(shape)]
            case 5, 6: nodes = [activation(shape)]
            case 7: nodes = [dropoutLayer(shape)]
            case 8: nodes = [maxPool(shape, keepSize: true)]
            case 9: nodes = [avgPool(shape, keepSize: true)]
            case 10:
                let groups = [2, 3, 4, 8].filter { shape.channels % $0 == 0 && shape.channels > $0 }
                if !groups.isEmpty, rng.chance(40) {
                    nodes = [layer("channel_shuffle", ("groups", .int(rng.pick(groups))))]
                } else {
                    nodes = rng.chance(50) ? [layer("identity")] : [layer("channel_pad", ("channels", .int(shape.channels)))]
                }
            default: nodes = winogradKeep(shape)
            }
            if !nodes.isEmpty, shapeAfter(nodes, from: shape) == shape { return nodes }
        }
        return [layer("relu")]
    }

    mutating func winogradKeep(_ shape: TensorShape) -> [SpecNode] {
        var nodes = [layer("conv", ("filters", .int(shape.channels)), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false)))]
        if rng.chance(70) { nodes += normAndActivation(shape, activations: ["relu", "relu6"]) }
        return nodes
    }

    /// A leaf or short chain that keeps height and width (concat branches).
    mutating func keepSize(_ shape: TensorShape) -> [SpecNode] {
        for _ in 0..<6 {
            let nodes: [SpecNode]
            switch rng.below(12) {
            case 0, 1, 2: nodes = pointwise(shape, keepSize: true)
            case 3, 4: nodes = conv(shape, keepSize: true)
            case 5: nodes = depthwise(shape, keepSize: true)
            case 6: nodes = [maxPool(shape, keepSize: true)]
            case 7: nodes = [avgPool(shape, keepSize: true)]
            case 8: nodes = [activation(shape)]
            case 9: nodes = [normalization(shape)]
            case 10: nodes = winograd(shape)
            default: nodes = convBnAct(shape, keepSize: true)
            }
            if !nodes.isEmpty, let out = shapeAfter(nodes, from: shape), out.height == shape.height, out.width == shape.width {
                return nodes
            }
        }
        return [layer("identity")]
    }

    // MARK: Structures

    /// ResNet basic and bottleneck blocks, MobileNet v2's inverted residual, strided and widening bodies with
    /// `auto` / `projection` shortcuts, ENet's pooled and channel-padded shortcut, a conv shortcut, an empty body.
    mutating func residual(_ shape: TensorShape) -> SpecNode? {
        let c = shape.channels
        var body: [SpecNode] = []
        var shortcut = SpecShortcut.omitted
        switch rng.below(20) {
        case 0...4:
            body = winogradKeep(shape)
            if body.count == 1 { body += normAndActivation(shape, activations: ["relu"]) }
            body.append(layer("conv", ("filters", .int(c)), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))))
            body.append(layer("batch_norm"))
            shortcut = rng.chance(70) ? .omitted : .identity
        case 5, 6:
            let m = max(1, c / rng.pick([2, 4]))
            body = pointwise(shape, filters: m, keepSize: true)
            body += conv(.chw(m, shape.height, shape.width), keepSize: true, filters: m)
            body.append(layer("conv", ("filters", .int(c)), ("kernel", .int(1)), ("bias", .bool(false))))
            body.append(layer("batch_norm"))
            shortcut = rng.chance(50) ? .identity : .omitted
        case 7, 8:
            let t = c * rng.pick([2, 3, 4])
            body = [layer("conv", ("filters", .int(t)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu6")]
            body += [layer("conv", ("depthwise", .bool(true)), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu6")]
            body += [layer("conv", ("filters", .int(c)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm")]
        case 9...11:
            let f = rng.chance(60) ? groupFilters() : channels()
            body = [layer("conv", ("filters", .int(f)), ("kernel", .int(3)), ("stride", .int(2)), ("padding", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("relu")]
            body += [layer("conv", ("filters", .int(f)), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))), layer("batch_norm")]
            shortcut = rng.chance(70) ? .auto : .projection
        case 12, 13:
            let f = channels()
            body = [layer("conv", ("filters", .int(f)), ("kernel", .int(1)))] + normAndActivation(shape) + conv(.chw(f, shape.height, shape.width), keepSize: true, filters: f)
            shortcut = rng.chance(60) ? .auto : .projection
        case 14:
            body = keepShape(shape)
            shortcut = .projection
        case 15, 16:
            // ENet downsampling: the shortcut pools (keeping indices) and pads channels.
            let f = max(c, 4) + (rng.chance(50) ? 0 : rng.pick([4, 8, 16]))
            let q = max(1, f / 4)
            body = [layer("conv", ("filters", .int(q)), ("kernel", .int(2)), ("stride", .int(2)), ("bias", .bool(false))), layer("batch_norm"), layer("prelu", ("per_channel", .bool(true)))]
            body += [layer("conv", ("filters", .int(q)), ("kernel", .int(3)), ("padding", .int(1))), layer("batch_norm")]
            body += [layer("conv", ("filters", .int(f)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm"), layer("spatial_dropout", ("rate", .number(0.1)))]
            var pool = [SpecArgument("kernel", .int(2))]
            if rng.chance(60) { pool.append(SpecArgument("return_indices", .bool(true))) }
            shortcut = .layers([leaf("max_pool", pool, named: rng.chance(60)), layer("channel_pad", ("channels", .int(f)))])
        case 17:
            let f = channels()
            body = conv(shape, keepSize: true, filters: f) + [layer("batch_norm")]
            shortcut = .layers([layer("conv", ("filters", .int(f)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm")])
        case 18:
            body = rng.chance(50) ? [] : [activation(shape)]
            shortcut = rng.chance(50) ? .layers(keepShape(shape)) : .omitted
        default:
            // A concat inside the body, projected back to the input's channels.
            let inner = concatBranches(shape)
            body = [inner, layer("conv", ("filters", .int(c)), ("kernel", .int(1)), ("bias", .bool(false))), layer("batch_norm")]
        }
        var arguments: [SpecArgument] = []
        if rng.chance(35) { arguments.append(SpecArgument("name", reference(fresh("res")))) }
        return .residual(arguments: arguments, body: body, shortcut: shortcut)
    }

    /// Branches on the same input, concatenated: 1×1 convs, 3×3 convs, pools, depthwise convs, chains, an empty
    /// branch (the input itself), a named group; now and then every branch strided (ENet's initial block).
    mutating func concatBranches(_ shape: TensorShape) -> SpecNode {
        var branches: [[SpecNode]] = []
        let count = rng.weighted([(2, 40), (3, 35), (4, 20), (1, 5)])
        if rng.chance(12), shape.height > 2, shape.width > 2 {
            let even = shape.height % 2 == 0 && shape.width % 2 == 0
            branches.append([layer("conv", ("filters", .int(channels())), ("kernel", .int(3)), ("stride", .int(2)), ("padding", .int(1)))])
            branches.append([even ? layer("max_pool", ("kernel", .int(2))) : layer("max_pool", ("kernel", .int(3)), ("stride", .int(2)), ("padding", .int(1)))])
            if rng.chance(30) { branches.append([layer("conv", ("depthwise", .bool(true)), ("kernel", .int(3)), ("stride", .int(2)), ("padding", .int(1)))]) }
        } else {
            for _ in 0..<count {
                switch rng.below(20) {
                case 0...2: branches.append([])
                case 3...11: branches.append(keepSize(shape))
                case 12...16:
                    var chain = keepSize(shape)
                    if let mid = shapeAfter(chain, from: shape) { chain += keepSize(mid) }
                    branches.append(chain)
                default:
                    var chain = keepSize(shape)
                    if let mid = shapeAfter(chain, from: shape), rng.chance(50) { chain += keepSize(mid) }
                    let name = fresh("branch", allowInteger: false)
                    branches.append([.group(arguments: [SpecArgument("name", .text(name))], layers: chain, short: false)])
                }
            }
        }
        var arguments: [SpecArgument] = []
        if rng.chance(35) { arguments.append(SpecArgument("name", reference(fresh("cat")))) }
        return .concat(arguments: arguments, branches: branches, short: arguments.isEmpty && rng.chance(50))
    }

    /// DenseNet: a repeat of concats of the input and bn-relu-conv 1×1 → bn-relu-conv 3×3 (chained in-place
    /// concats sharing one buffer), then sometimes a transition.
    mutating func appendDenseChain(_ shape: TensorShape) -> Bool {
        let growth = rng.pick([4, 8, 16, 5])
        let layerPrefix = fresh("dl", allowInteger: false)
        let branch: [SpecNode] = [
            layer("batch_norm"), layer("relu"),
            layer("conv", ("filters", .int(growth * rng.pick([2, 4]))), ("kernel", .int(1)), ("bias", .bool(false))),
            layer("batch_norm"), layer("relu"),
            layer("conv", ("filters", .int(growth)), ("kernel", .int(3)), ("padding", .int(1)), ("bias", .bool(false))),
        ]
        let start = rng.pick([0, 1, 1, 3])
        let name = SpecValue.template([.text(layerPrefix + "_"), .parameter("i")])
        let concat = SpecNode.concat(arguments: [SpecArgument("name", name)], branches: [[], branch], short: false)
        var repeatArguments = [SpecArgument("count", .int(rng.int(1...3))), SpecArgument("index", .text("i"))]
        if start != 0 || rng.chance(30) { repeatArguments.append(SpecArgument("start", .int(start))) }
        var nodes = [SpecNode.repeated(arguments: repeatArguments, layers: [concat])]
        if rng.chance(40) {
            nodes += [layer("batch_norm"), layer("relu"), layer("conv", ("filters", .int(rng.pick([8, 16, 32]))), ("kernel", .int(1)), ("bias", .bool(false)))]
            if shape.height >= 2 { nodes.append(layer("avg_pool", ("kernel", .int(2)))) }
        }
        return tryAppend(nodes)
    }

    mutating func appendResidual(_ shape: TensorShape) -> Bool {
        guard var node = residual(shape) else { return false }
        if rng.chance(6), let other = rng.chance(50) ? refs.last : nil, other != nameOfLast() {
            node = node.setting("input", reference(other))
        }
        var nodes = [node]
        if rng.chance(55) { nodes.append(rng.chance(80) ? layer("relu") : activationLayer("prelu", shape)) }
        return tryAppend(nodes, newRefs: collectRefs(nodes))
    }

    func nameOfLast() -> String? {
        switch tree.layers.last?.argument("name") {
        case .text(let s)?: s
        case .int(let v)?: String(v)
        default: nil
        }
    }

    /// Names inside `nodes` that the top level can read: explicit names, through transparent structures
    /// (residual, concat) and named groups and block instances.
    func collectRefs(_ nodes: [SpecNode], prefix: String = "") -> [String] {
        var names: [String] = []
        for node in nodes {
            var own: String?
            switch node.argument("name") {
            case .text(let s)?: own = s
            case .int(let v)?: own = String(v)
            default: own = nil
            }
            switch node {
            case .layer:
                if let own { names.append(prefix + own) }
            case .residual(_, let body, let shortcut):
                names += collectRefs(body, prefix: prefix)
                if case .layers(let l) = shortcut { names += collectRefs(l, prefix: prefix) }
                if let own { names.append(prefix + own) }
            case .concat(_, let branches, _):
                for b in branches { names += collectRefs(b, prefix: prefix) }
                if let own { names.append(prefix + own) }
            case .group(_, let layers, _):
                if let own {
                    names += collectRefs(layers, prefix: prefix + own + ".")
                    names.append(prefix + own)
                }
            case .instance(let block, _):
                if let own {
                    if let definition = tree.blocks.first(where: { $0.name == block }) {
                        names += collectRefs(definition.body, prefix: prefix + own + ".")
                    }
                    names.append(prefix + own)
                }
            case .repeated: break
            }
        }
        return names
    }
}
