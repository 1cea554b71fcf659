// Seeded random specs for differential tests (NNSmith-style): each spec is valid by construction, since every
// proposed statement is kept only when this module's checker accepts it and it stays within budget.

/// A deterministic stream of random specs. Aims at the emitter planner's risky decisions as well as the whole
/// language: NCHWc chains of depthwise and 1×1 convs, Winograd's bands on awkward maps, in-place concats with
/// several readers, dead branches and concats, fused batch norm / activation / residual add, max_unpool indices,
/// odd and vector-multiple channel counts. Spec `i` of seed `s` depends on `(s, i)` only.
public struct SpecGenerator: Sendable {
    private let seed: UInt64
    private var index: UInt64 = 0

    public init(seed: UInt64) {
        self.seed = seed
    }

    public mutating func next() -> GeneratedSpec {
        defer { index += 1 }
        let name = "random_\(seed)_\(index)"
        for attempt in 0..<20 {
            // Each spec's stream depends on (seed, index, attempt) only; a rare spec that fails its own check
            // is drawn again with the next attempt.
            let specSeed = SeededRandom(seed: seed).peek() ^ SeededRandom(seed: index &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(attempt)).peek()
            var builder = Builder(seed: specSeed, name: name)
            if let tree = builder.build() { return GeneratedSpec(name: name, tree: tree) }
        }
        // Unreachable in practice: a spec that always checks.
        let tree = SpecTree(
            model: name, input: [8, 8, 8], expect: nil,
            layers: [.layer(kind: "conv", arguments: [SpecArgument("filters", .int(16)), SpecArgument("kernel", .int(1))])])
        return GeneratedSpec(name: name, tree: tree)
    }
}

/// Which planner decisions a spec leans towards; every spec still draws from the whole menu.
enum Profile: CaseIterable, Sendable {
    /// MobileNet-like chains of depthwise 3×3 and 1×1 convs with channels in multiples of 8 and 16.
    case nchwc
    /// Stride-1 3×3 convs of ≥ 32 input channels and filters in multiples of 16 on awkward maps.
    case winograd
    /// 256–512 channels on narrow maps whose tile rows leave a short last Winograd band (before the fix).
    case bandEdge
    /// In-place concats, concats with several readers, DenseNet chains, dead concats.
    case concat
    /// Residual blocks, projections, adds fused into convs.
    case residual
    /// ENet: indexed pools and unpools, transposed convs, PReLU, channel padding, asymmetric and dilated convs.
    case enet
    /// LRN, average pools with ceil mode, sigmoid/tanh, flatten and dense heads.
    case classic
    /// A flat input: dense layers and what works on features.
    case flat
    case mixed
}

/// Builds one spec: proposes statements, keeps those the checker accepts within the budgets.
struct Builder: Sendable {
    var rng: SeededRandom
    var tree: SpecTree
    var check: CheckResult
    /// Names later statements may read (explicitly named, so reduction keeps them stable), oldest first.
    var refs: [String] = []
    var usedNames: Set<String> = ["input", "downsample"]
    var counter = 0
    var profile: Profile
    var macBudget: Int
    var elementBudget: Int
    var specialNamesLeft: [String]
    var targetStatements = 0

    init(seed: UInt64, name: String) {
        rng = SeededRandom(seed: seed)
        profile = rng.weighted([
            (.nchwc, 20), (.winograd, 14), (.bandEdge, 4), (.concat, 16), (.residual, 12), (.enet, 11), (.classic, 8),
            (.flat, 4), (.mixed, 11),
        ])
        macBudget = rng.chance(8) ? 6_000_000 : rng.int(500_000...3_000_000)
        if profile == .winograd { macBudget = rng.int(2_000_000...5_000_000) }
        if profile == .nchwc { macBudget = rng.int(1_000_000...4_000_000) }
        elementBudget = 160_000
        specialNamesLeft = [
            "for", "self", "init", "default", "Float", "SIMD8", "exp", "min", "stride", "pad", "tanh", "erf", "hardswish", "AlignedFloats",
            "SafetensorsLayout", "withUnsafeTemporaryAllocation", "-", "é", "class", "let", "return", "in", "Int",
            "predict", "layers", "arena", "weights",
        ]
        tree = SpecTree(model: name, input: [1])
        check = CheckResult()
    }

    // MARK: The build loop

    mutating func build() -> SpecTree? {
        tree.input = chooseInput()
        if tree.input.count == 3 && tree.input[0] >= 256 {
            macBudget = 40_000_000
            elementBudget = 1_200_000
        }
        if rng.chance(25) { tree.description = "generated for differential tests: \(profile) profile" }
        chooseDefaults()
        check = checkTree(tree)
        guard check.error == nil else { return nil }

        targetStatements = rng.weighted([(rng.int(2...6), 30), (rng.int(6...12), 45), (rng.int(12...20), 25)])
        if profile == .bandEdge { targetStatements = rng.int(1...4) }
        if profile == .nchwc { targetStatements = rng.int(8...24) }
        // The profile's opening move: the conv whose kernel choice the profile is about.
        switch profile {
        case .bandEdge, .winograd:
            let first = winograd(current, filters: rng.pick([16, 16, 32]))
            _ = tryAppend(first, newRefs: collectRefs(first))
        case .nchwc:
            if rng.chance(60) {
                let stem = [layer("conv", ("filters", .int(groupFilters())), ("kernel", .int(3)), ("stride", .int(rng.chance(60) ? 2 : 1)), ("padding", .int(1)), ("bias", .bool(false)))]
                    + normAndActivation(current, activations: ["relu", "relu6"])
                _ = tryAppend(stem)
            }
        default: break
        }
        if profile == .nchwc {
            // A spine of separable pairs with now and then another move between them, ended by a reader of
            // NCHWc (an average pool to 1 × 1): the chain the planner keeps NCHWc, or nearly.
            for _ in 0..<rng.int(2...5) {
                if rng.chance(30) { _ = step() }
                if !separablePair(current) { _ = step() }
            }
        } else if profile == .enet, rng.chance(70) {
            // ENet's shape: an initial strided concat, downsampling blocks whose pools keep indices, bottlenecks,
            // then upsampling blocks that unpool those indices, and a transposed conv to full size.
            if rng.chance(50) { _ = tryAppend([concatBranches(current)]) }
            let downs = rng.int(1...2)
            for _ in 0..<downs { _ = appendBlock(current, only: .down) }
            for _ in 0..<rng.int(0...3) { _ = step() }
            for _ in 0..<downs where !appendBlock(current, only: .up) { _ = poolUnpool(current) }
            if rng.chance(40) { _ = tryAppend([convTranspose(current)]) }
        } else {
            var failures = 0
            while tree.layers.count < targetStatements, failures < 80 {
                if !step() { failures += 1 }
            }
        }
        if tree.layers.isEmpty { return nil }
        finish()
        let final = checkTree(tree)
        guard final.ok, let output = final.output else { return nil }
        if rng.chance(85) {
            tree.expect = Expectation(params: final.params, nonTrainable: final.nonTrainable, macs: final.macs, output: output.dims)
        }
        // Unused blocks are kept on purpose now and then (a definition nobody instantiates is valid).
        return checkTree(tree).ok ? tree : nil
    }

    var current: TensorShape { check.statementOutputs.last ?? TensorShape(tree.input) }

    mutating func chooseInput() -> [Int] {
        func map() -> (Int, Int) {
            let h = rng.weighted([(rng.int(1...6), 8), (rng.int(7...16), 40), (rng.int(17...28), 37), (rng.int(29...40), 15)])
            let w = rng.chance(75) ? h : max(1, h + rng.int(-6...6))
            return (h, w)
        }
        switch profile {
        case .nchwc:
            let h = rng.weighted([(rng.int(4...12), 40), (rng.int(13...24), 45), (rng.int(25...36), 15)])
            let w = rng.chance(80) ? h : rng.int(4...24)
            return [rng.pick([3, 8, 16, 16, 32, 5, 24]), h, w]
        case .winograd:
            let h = rng.pick([7, 8, 9, 11, 13, 14, 15, 17, 19, 21, 23, 25, 10, 12, 16, 20])
            let w = rng.chance(70) ? h : rng.pick([7, 9, 13, 18, 22, 8])
            return [rng.pick([32, 32, 48, 64, 16, 24, 40]), h, w]
        case .bandEdge:
            return bandEdgeInput()
        case .concat:
            let (h, w) = map()
            return [rng.pick([3, 8, 16, 24, 5, 32]), max(h, 3), max(w, 3)]
        case .residual:
            let (h, w) = map()
            return [rng.pick([8, 16, 32, 3, 17]), max(h, 4), max(w, 4)]
        case .enet:
            let h = 2 * rng.int(3...20)
            let w = rng.chance(80) ? h : 2 * rng.int(3...20)
            return [rng.pick([3, 8, 16, 5]), h, w]
        case .classic:
            let (h, w) = map()
            return [rng.pick([1, 3, 5, 7, 8]), max(h, 6), max(w, 6)]
        case .flat:
            return [rng.pick([1, 3, 7, 16, 17, 64, 100, 256])]
        case .mixed:
            if rng.chance(6) { return [rng.pick([5, 32, 48])] }
            let (h, w) = map()
            return [channels(), h, w]
        }
    }

    /// An input whose first 3×3 conv leaves a short last band of tile rows: bands hold 32768 / (C · tiles across
    /// rounded up to 8) tile rows, so the map height is a few tile rows past a multiple of that.
    mutating func bandEdgeInput() -> [Int] {
        let c = rng.pick([256, 384, 512, 512])
        // Narrow maps (4–5 tiles across) leave a band of one tile row fewer tiles than a pixel group.
        let w = rng.chance(75) ? rng.int(7...10) : rng.pick([12, 16, 18, 20])
        let tilesAcross = (w + 1) / 2
        let vectorColumns = (tilesAcross + 7) / 8 * 8
        let band = max(1, 32_768 / (c * vectorColumns))
        var tileRows = band * rng.int(1...2) + (rng.chance(70) ? 1 : rng.int(2...3))
        if 2 * tileRows > 40 { tileRows = band + 1 }
        let h = 2 * tileRows - (rng.chance(30) ? 1 : 0)
        return [c, h, w]
    }

    mutating func chooseDefaults() {
        guard rng.chance(30) else { return }
        let options: [KindDefaults] = [
            KindDefaults(kind: "conv", arguments: [SpecArgument("bias", .bool(false))]),
            KindDefaults(kind: "conv", arguments: [SpecArgument("kernel", .int(3)), SpecArgument("padding", .int(1))]),
            KindDefaults(kind: "conv", arguments: [SpecArgument("kernel", .int(1)), SpecArgument("bias", .bool(false))]),
            KindDefaults(kind: "batch_norm", arguments: [SpecArgument("eps", .number(0.001))]),
            KindDefaults(kind: "max_pool", arguments: [SpecArgument("kernel", .int(2))]),
            KindDefaults(kind: "max_pool", arguments: [SpecArgument("kernel", .int(3)), SpecArgument("stride", .int(2)), SpecArgument("padding", .int(1))]),
            KindDefaults(kind: "leaky_relu", arguments: [SpecArgument("slope", .number(0.2))]),
            KindDefaults(kind: "dropout", arguments: [SpecArgument("rate", .number(0.2))]),
            KindDefaults(kind: "dense", arguments: [SpecArgument("bias", .bool(false))]),
            KindDefaults(kind: "avg_pool", arguments: [SpecArgument("count_include_pad", .bool(false))]),
            KindDefaults(kind: "prelu", arguments: [SpecArgument("per_channel", .bool(true))]),
            KindDefaults(kind: "conv_transpose", arguments: [SpecArgument("kernel", .int(2)), SpecArgument("stride", .int(2))]),
        ]
        var chosen: [KindDefaults] = []
        for option in rng.shuffled(options).prefix(rng.int(1...3)) where !chosen.contains(where: { $0.kind == option.kind }) {
            chosen.append(option)
        }
        tree.defaults = chosen
    }

    // MARK: Keeping statements

    /// Appends `nodes` (and `blocks` not yet defined) if the checker accepts them within budget.
    @discardableResult
    mutating func tryAppend(_ nodes: [SpecNode], newRefs: [String] = [], blocks: [BlockDefinition] = []) -> Bool {
        guard !nodes.isEmpty, tree.layers.count + nodes.count <= 25 else { return false }
        var candidate = tree
        candidate.layers += nodes
        for block in blocks where !candidate.blocks.contains(where: { $0.name == block.name }) { candidate.blocks.append(block) }
        let result = checkTree(candidate)
        guard result.ok, result.macs <= macBudget, largestTensor(result) <= elementBudget, result.layers <= 160 else { return false }
        tree = candidate
        check = result
        for name in newRefs where result.names[name] != nil && !refs.contains(name) { refs.append(name) }
        return true
    }

    func largestTensor(_ result: CheckResult) -> Int {
        var largest = tree.input.reduce(1, *)
        for name in result.order { largest = max(largest, result.names[name]?.shape.elements ?? 0) }
        return largest
    }

    /// The output of `nodes` run on a tensor of `shape` (nodes that read no names), or nil if invalid.
    func shapeAfter(_ nodes: [SpecNode], from shape: TensorShape) -> TensorShape? {
        let probe = SpecTree(model: "probe", input: shape.dims, defaults: tree.defaults, blocks: tree.blocks, layers: nodes)
        return checkTree(probe).output
    }

    /// A name for the current tensor, naming the last statement if it has none; nil after a `repeat`.
    mutating func nameCurrent() -> String? {
        guard let last = tree.layers.indices.last else { return "input" }
        switch tree.layers[last].argument("name") {
        case .text(let s)?: return s
        case .int(let v)?: return String(v)
        case nil: break
        default: return nil
        }
        if case .repeated = tree.layers[last] { return nil }
        let name = fresh("t")
        var candidate = tree
        candidate.layers[last] = candidate.layers[last].setting("name", reference(name))
        let result = checkTree(candidate)
        guard result.ok else { return nil }
        tree = candidate
        check = result
        refs.append(name)
        return name
    }

    /// A unique name: mostly `prefix` and a number, sometimes a Swift keyword or a name the emitted code uses
    /// (which the emitter must rename), now and then an integer.
    mutating func fresh(_ prefix: String, allowInteger: Bool = true) -> String {
        counter += 1
        if rng.chance(7), !specialNamesLeft.isEmpty {
            let name = specialNamesLeft.remove(at: rng.below(specialNamesLeft.count))
            if usedNames.insert(name).inserted { return name }
        }
        if allowInteger, rng.chance(3) {
            let name = String(100 + counter)
            if usedNames.insert(name).inserted { return name }
        }
        var name = "\(prefix)\(counter)"
        while !usedNames.insert(name).inserted {
            counter += 1
            name = "\(prefix)\(counter)"
        }
        return name
    }

    /// A name as an argument value: integers stay integers (`name: 101`, `input: 101`).
    func reference(_ name: String) -> SpecValue {
        if let v = Int(name), String(v) == name { return .int(v) }
        return .text(name)
    }

    /// Shapes of names later statements may read, with the current tensor's name excluded if asked.
    func readable(where predicate: (TensorShape) -> Bool) -> [String] {
        refs.filter { name in check.names[name].map { predicate($0.shape) } ?? false }
    }

    // MARK: One step

    mutating func step() -> Bool {
        let shape = current
        if !shape.isMap { return flatStep() }
        // ENet's decoder: unpool an encoder's indices as soon as the map fits them.
        if profile == .enet || profile == .mixed, rng.chance(50), instanceArgumentsFit(.up, shape) {
            return appendBlock(shape, only: .up)
        }
        return perform(rng.weighted(weights(for: shape)), shape)
    }

    mutating func perform(_ move: Move, _ shape: TensorShape) -> Bool {
        switch move {
        case .conv: return appendChain(conv(shape))
        case .pointwise: return appendChain(pointwise(shape))
        case .depthwise: return appendChain(depthwise(shape))
        case .winograd: return appendChain(winograd(shape))
        case .convBnAct: return appendChain(convBnAct(shape))
        case .transpose: return appendChain([convTranspose(shape)])
        case .maxPool: return appendChain([maxPool(shape)])
        case .avgPool: return appendChain([avgPool(shape)])
        case .shrinkPool: return appendChain([adaptiveOrGlobal(shape)])
        case .normalize: return appendChain([normalization(shape)])
        case .activate: return appendChain([activation(shape)])
        case .dropout: return appendChain([dropoutLayer(shape)])
        case .channelPad: return appendChain([channelPad(shape)])
        case .channelShuffle:
            let groups = [2, 3, 4, 8].filter { shape.channels % $0 == 0 && shape.channels > $0 }
            return appendChain([layer("channel_shuffle", ("groups", .int(rng.pick(groups.isEmpty ? [1] : groups))))])
        case .identity: return appendChain([layer("identity", named: rng.chance(20))])
        case .residual: return appendResidual(shape)
        case .concatBranches: return appendChain([concatBranches(shape)])
        case .denseChain: return appendDenseChain(shape)
        case .forkAdd: return forkAdd(shape)
        case .squeezeExcite: return squeezeExcite(shape)
        case .upsample: return upsample(shape)
        case .splitShuffle: return splitShuffle(shape)
        case .forkConcat: return forkConcat(shape)
        case .deadBranch: return deadBranch(shape)
        case .deadConcat: return deadConcat(shape)
        case .poolUnpool: return poolUnpool(shape)
        case .group: return appendGroup(shape)
        case .repeatChain: return appendRepeat(shape)
        case .block: return appendBlock(shape)
        case .flattenDense: return flattenDense(shape)
        case .readBack: return readBack(shape)
        case .separablePair: return separablePair(shape)
        }
    }

    /// Whether a block fits `shape`, without drawing from the generator's stream.
    func instanceArgumentsFit(_ kind: BlockKind, _ shape: TensorShape) -> Bool {
        var copy = self
        return copy.instanceArguments(kind, shape) != nil
    }

    /// One kind of proposal; `weights(for:)` sets how often each is tried per profile.
    enum Move: Sendable {
        case conv, pointwise, depthwise, winograd, convBnAct, transpose, maxPool, avgPool, shrinkPool, normalize
        case activate, dropout, channelPad, channelShuffle, identity, residual, concatBranches, denseChain, forkAdd, forkConcat
        case squeezeExcite, upsample, splitShuffle
        case deadBranch, deadConcat, poolUnpool, group, repeatChain, block, flattenDense, readBack, separablePair
    }

    func weights(for shape: TensorShape) -> [(Move, Int)] {
        let small = shape.height * shape.width <= 4
        var w: [(Move, Int)] = [
            (.conv, 10), (.pointwise, 8), (.depthwise, 6), (.winograd, 6), (.convBnAct, 8), (.transpose, 4),
            (.separablePair, 3),
            (.maxPool, small ? 1 : 4), (.avgPool, small ? 1 : 3), (.shrinkPool, 2), (.normalize, 4), (.activate, 5),
            (.dropout, 2), (.channelPad, 2), (.channelShuffle, shape.isMap && shape.channels % 2 == 0 ? 2 : 0), (.identity, 1), (.residual, 7), (.concatBranches, 7), (.denseChain, 2),
            (.forkAdd, 6), (.squeezeExcite, shape.isMap ? 5 : 0), (.upsample, shape.isMap ? 3 : 0), (.splitShuffle, shape.isMap && shape.channels >= 2 ? 3 : 0), (.forkConcat, 6), (.deadBranch, 4), (.deadConcat, 3), (.poolUnpool, small ? 0 : 3),
            (.group, 4), (.repeatChain, 4), (.block, 6), (.flattenDense, 1), (.readBack, 3),
        ]
        func boost(_ moves: [Move], _ factor: Int) {
            for i in w.indices where moves.contains(w[i].0) { w[i].1 *= factor }
        }
        switch profile {
        case .nchwc:
            boost([.separablePair], 20)
            boost([.depthwise, .pointwise, .forkConcat, .block], 2)
            // Fewer of the layers that end an NCHWc chain.
            for i in w.indices where [.transpose, .poolUnpool, .channelPad, .maxPool, .avgPool, .conv].contains(w[i].0) { w[i].1 = max(1, w[i].1 / 3) }
        case .winograd: boost([.winograd, .residual, .forkAdd], 3)
        case .bandEdge: boost([.winograd, .pointwise], 4)
        case .concat: boost([.concatBranches, .forkConcat, .deadConcat, .denseChain, .deadBranch], 3)
        case .residual: boost([.residual, .forkAdd, .convBnAct, .block], 3)
        case .enet: boost([.poolUnpool, .transpose, .channelPad, .residual, .conv, .block], 3)
        case .classic: boost([.normalize, .avgPool, .maxPool, .activate, .flattenDense, .conv], 2)
        case .flat, .mixed: break
        }
        return w
    }

    mutating func appendChain(_ nodes: [SpecNode]) -> Bool {
        guard !nodes.isEmpty else { return false }
        return tryAppend(nodes, newRefs: nodes.compactMap { if case .text(let s)? = $0.argument("name") { s } else if case .int(let v)? = $0.argument("name") { String(v) } else { nil } })
    }

    /// Ends the network now and then with a classifier head.
    mutating func finish() {
        let shape = current
        guard shape.isMap, rng.chance(profile == .nchwc ? 95 : 35) else { return }
        var head: [SpecNode] = []
        if shape.height * shape.width > 1 || rng.chance(50) {
            switch rng.below(profile == .nchwc ? 3 : 4) {
            case 0: head.append(layer("global_avg_pool"))
            case 1: head.append(layer("adaptive_avg_pool", ("output", .int(1))))
            case 2: head.append(layer("avg_pool", ("kernel", shape.height == shape.width ? .int(shape.height) : .list([.int(shape.height), .int(shape.width)]))))
            default: head.append(layer("global_max_pool"))
            }
        }
        head.append(layer("flatten"))
        if rng.chance(30) { head.append(dropoutLayer(shape)) }
        head.append(layer("dense", ("name", .text(fresh("fc", allowInteger: false))), ("units", .int(rng.pick([10, 1, 7, 16, 100])))))
        if rng.chance(30) { head.append(layer("softmax")) }
        if !tryAppend(head), !tryAppend([layer("global_avg_pool")]) { _ = tryAppend([layer("flatten")]) }
    }

    // MARK: Channel counts

    /// Odd counts (1, 3, 5, 7, 17) beside vector multiples (8 … 64), rarely 128.
    mutating func channels(vector: Int = 55) -> Int {
        if rng.chance(vector) { return rng.weighted([(8, 12), (16, 22), (24, 8), (32, 18), (48, 8), (64, 10), (128, 2)]) }
        return rng.weighted([(1, 5), (3, 8), (5, 6), (7, 6), (17, 5), (12, 3), (20, 3), (10, 2), (40, 2), (2, 2)])
    }

    /// Filters a multiple of 16 (pixel groups, Winograd, NCHWc writers).
    mutating func groupFilters() -> Int { rng.weighted([(16, 30), (32, 30), (48, 12), (64, 15), (128, 2)]) }
}
