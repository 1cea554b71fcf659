// The execution plan shared by back ends: which layers fuse into one step, which only alias a buffer, and where
// each step's output lives in one activation arena planned by liveness.

/// One step of a planned model: a layer, possibly with a batch norm folded into it and an activation applied in
/// its output loop.
public struct PlannedStep: Hashable, Sendable {
    /// The layer that does the work (a conv, a dense layer, a pool, …).
    public var layer: Int
    /// A batch norm folded into this conv, transposed conv or dense layer at load time.
    public var foldedBatchNorm: Int?
    /// A two-input add applied in this step's output loop: the step's result plus its last input (the add's
    /// other operand, computed earlier); `fusedActivation` then applies to the sum.
    public var fusedAdd: Int?
    /// An activation layer applied in this step's output loop.
    public var fusedActivation: Int?
    /// Buffers this step reads (each the id of the step layer that produced it, or 0 for the input).
    public var inputs: [Int]
    /// Offset of the output in the arena, in floats.
    public var outputOffset: Int
    /// The last layer this step covers (the activation, the add, the batch norm, or the layer itself).
    public var lastLayer: Int { fusedActivation ?? fusedAdd ?? foldedBatchNorm ?? layer }
}

/// A buffer of the activation arena.
public enum BufferKey: Hashable, Sendable {
    /// The output of the step (or in-place concat) of this layer id.
    case output(Int)
    /// The argmax indices a max pool of this layer id keeps for a max_unpool.
    case poolIndices(Int)
}

/// A model's steps in execution order and its arena.
public struct ExecutionPlan: Hashable, Sendable {
    public var steps: [PlannedStep]
    /// For every layer, the step layer whose buffer holds its output (0 for the input).
    public var bufferOf: [Int]
    /// Offset of each buffer in the arena, in floats; the input has its own buffer.
    public var offsets: [BufferKey: Int]
    /// Floats the arena needs (batch 1).
    public var arenaFloats: Int
    /// Max-pool layers whose indices a max_unpool reads.
    public var indexedPools: Set<Int>
    /// Concats done in place: their inputs' steps write straight into their channel slices, so they have no step.
    public var inPlaceConcats: Set<Int>

    /// Where the output of the step (or in-place concat) of layer `id` starts in the arena.
    public func offset(of id: Int) -> Int? { offsets[.output(id)] }
}

/// Which fusions a back end does beyond batch-norm folding and activation fusion.
public struct PlanOptions: Hashable, Sendable {
    /// Fuse a two-input add into the conv that computes its later operand (a residual connection).
    public var fuseResidualAdds: Bool
    /// Let a concat's inputs write into their channel slices of its buffer, so the concat copies nothing.
    public var concatenateInPlace: Bool

    public init(fuseResidualAdds: Bool, concatenateInPlace: Bool) {
        self.fuseResidualAdds = fuseResidualAdds
        self.concatenateInPlace = concatenateInPlace
    }

    /// Everything: what the emitted code does, and what `convc summary` reports as peak activation memory.
    public static let full = PlanOptions(fuseResidualAdds: true, concatenateInPlace: true)
    /// Batch-norm folding and activation fusion only.
    public static let foldingOnly = PlanOptions(fuseResidualAdds: false, concatenateInPlace: false)
}

/// Plans a model: folds each batch norm that is the sole reader of a conv, transposed conv or dense layer without
/// its own activation; fuses a residual add that is the sole reader of such a conv, when the add's other operand
/// is already computed; fuses the element-wise activation that is the sole reader of such a step; lets dropout,
/// identity and flatten alias their input; lets concats be written in place; then places buffers in one arena,
/// first fit by liveness.
public func planExecution(_ model: Model, options: PlanOptions = .full) -> ExecutionPlan {
    let count = model.layers.count
    var readers = Array(repeating: [Int](), count: count)
    for layer in model.layers {
        for input in layer.inputs { readers[input].append(layer.id) }
    }
    func soleReader(_ id: Int) -> Layer? {
        guard id != model.outputLayer, readers[id].count == 1 else { return nil }
        return model.layers[readers[id][0]]
    }
    var bufferOf = Array(0..<count)
    var absorbed = Set<Int>()
    var steps: [PlannedStep] = []
    var indexedPools = Set<Int>()
    for layer in model.layers.dropFirst() where !absorbed.contains(layer.id) {
        if case .maxUnpool(_, _, _, let pool) = layer.op { indexedPools.insert(pool) }
        if layer.op.isAliasAtInference {
            bufferOf[layer.id] = bufferOf[layer.inputs[0]]
            continue
        }
        var step = PlannedStep(
            layer: layer.id, inputs: layer.inputs.map { bufferOf[$0] }, outputOffset: 0)
        var canFold = false, canFuse = false, canAdd = false
        switch layer.op {
        case .conv(let c): canFold = c.activation == nil; canFuse = c.activation == nil; canAdd = c.activation == nil
        case .convTranspose(let c): canFold = c.activation == nil; canFuse = c.activation == nil
        case .dense(_, _, _, let activation): canFold = activation == nil; canFuse = activation == nil
        case .batchNorm: canFuse = true
        case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .localResponseNorm, .layerNorm, .scale, .activation, .prelu,
            .softmax, .dropout, .flatten, .add, .multiply, .concat, .channelPad, .channelShuffle, .upsample, .channelSlice, .identity:
            break
        }
        if canFold, let next = soleReader(layer.id), case .batchNorm = next.op {
            step.foldedBatchNorm = next.id
            absorbed.insert(next.id)
        }
        // The add's other operand must come from an earlier layer, so it exists when this step runs.
        if canAdd, options.fuseResidualAdds, let next = soleReader(step.lastLayer), case .add = next.op,
            next.inputs.count == 2, let other = next.inputs.first(where: { $0 != step.lastLayer }),
            other < layer.id
        {
            step.fusedAdd = next.id
            step.inputs.append(bufferOf[other])
            absorbed.insert(next.id)
        }
        if canFuse, let next = soleReader(step.lastLayer), case .activation = next.op {
            step.fusedActivation = next.id
            absorbed.insert(next.id)
        }
        for id in [step.layer, step.foldedBatchNorm, step.fusedAdd, step.fusedActivation].compactMap({ $0 }) {
            bufferOf[id] = layer.id
        }
        steps.append(step)
    }

    let size = { (id: Int) in model.layers[id].outputShape.elementCount }

    // Concats in place, all or nothing: when every input is a distinct step output not yet a slice of another
    // concat, each becomes a slice of the concat's buffer at its channel offset (concats chain, as in DenseNet).
    var sliceOf: [Int: (parent: Int, offset: Int)] = [:]
    var inPlaceConcats = Set<Int>()
    if options.concatenateInPlace {
        let stepLayers = Set(steps.map(\.layer))
        for step in steps {
            guard case .concat = model.layers[step.layer].op, Set(step.inputs).count == step.inputs.count,
                step.inputs.allSatisfy({ stepLayers.contains($0) && sliceOf[$0] == nil })
            else { continue }
            var offset = 0
            for input in step.inputs {
                sliceOf[input] = (step.layer, offset)
                offset += size(input)
            }
            inPlaceConcats.insert(step.layer)
        }
        steps.removeAll { inPlaceConcats.contains($0.layer) }
    }
    /// The outermost buffer holding `id`, and `id`'s offset in it.
    func root(_ id: Int) -> (buffer: Int, offset: Int) {
        guard let slice = sliceOf[id] else { return (id, 0) }
        let outer = root(slice.parent)
        return (outer.buffer, outer.offset + slice.offset)
    }

    // Liveness: a buffer lives from its step to the last step that reads it (the output to the end); a concat
    // written in place lives as long as any of its slices.
    var lastRead: [BufferKey: Int] = [:]
    for (index, step) in steps.enumerated() {
        for input in step.inputs { lastRead[.output(input)] = index }
    }
    for (index, step) in steps.enumerated() {
        if case .maxUnpool(_, _, _, let pool) = model.layers[step.layer].op {
            lastRead[.poolIndices(bufferOf[pool])] = index
        }
    }
    lastRead[.output(bufferOf[model.outputLayer])] = steps.count
    // A concat's buffer also lives until its last slice is written, even when nothing reads the concat (a dead
    // branch): ending it at the first writer let a later buffer be placed over the slices still to come.
    var stepIndex: [Int: Int] = [:]
    for (index, step) in steps.enumerated() { stepIndex[step.layer] = index }
    for id in sliceOf.keys {
        let outer = root(id).buffer
        lastRead[.output(outer)] = max(lastRead[.output(outer)] ?? 0, lastRead[.output(id)] ?? 0, stepIndex[id] ?? 0)
    }
    // First fit: blocks sorted by offset; a new buffer takes the lowest gap that fits among live blocks.
    var live: [(offset: Int, size: Int, until: Int, key: BufferKey)] = []
    var offsets: [BufferKey: Int] = [:]
    var arena = 0
    func place(_ key: BufferKey, floats: Int, at index: Int) {
        live.removeAll { $0.until < index }
        live.sort { $0.offset < $1.offset }
        var offset = 0
        for block in live {
            if block.offset - offset >= floats { break }
            offset = max(offset, block.offset + block.size)
        }
        live.append((offset, floats, lastRead[key] ?? index, key))
        offsets[key] = offset
        arena = max(arena, offset + floats)
    }
    for (index, step) in steps.enumerated() {
        let outer = root(step.layer).buffer
        if offsets[.output(outer)] == nil {
            place(.output(outer), floats: size(outer), at: index)
            // Every slice of a newly placed concat (nested concats included) gets its offset now.
            for id in sliceOf.keys where root(id).buffer == outer {
                offsets[.output(id)] = offsets[.output(outer)]! + root(id).offset
            }
        }
        steps[index].outputOffset = offsets[.output(step.layer)]!
        if indexedPools.contains(step.layer) {
            place(.poolIndices(step.layer), floats: size(step.layer), at: index)
        }
    }
    return ExecutionPlan(
        steps: steps, bufferOf: bufferOf, offsets: offsets, arenaFloats: arena, indexedPools: indexedPools,
        inPlaceConcats: inPlaceConcats)
}
