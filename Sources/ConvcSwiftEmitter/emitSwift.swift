// Checked model → one standalone Swift file: the type, its weight loading (batch norm folded at load), and a
// forward pass of specialised layer functions whose every shape and bound is a literal.

import ConvcDiagnostics
import ConvcIR

/// How the emitted type is named and exposed.
public struct EmitOptions: Sendable {
    /// The spec path written in the header and the per-layer comments (relative, so the output is reproducible).
    public var sourcePath: String
    /// The type name; by default the model name in UpperCamelCase.
    public var typeName: String?
    /// `public` or `internal`.
    public var access: String
    /// The vector registers the convolution kernels keep their tiles in.
    public var target: EmitTarget
    /// Whether the forward pass adds each step's time to `stepNanoseconds` (for `convc verify --profile`).
    public var profiling: Bool

    public init(sourcePath: String, typeName: String? = nil, access: String = "public", target: EmitTarget = .avx2, profiling: Bool = false) {
        self.sourcePath = sourcePath
        self.typeName = typeName
        self.access = access
        self.target = target
        self.profiling = profiling
    }
}

/// `resnet18` → `ResNet18`-style names: words split at `_`, `-` and spaces, each capitalised.
public func defaultTypeName(for model: String) -> String {
    var result = ""
    var capitalise = true
    for character in model {
        if character.isLetter || character.isNumber {
            result.append(capitalise ? Character(character.uppercased()) : character)
            capitalise = false
        } else {
            capitalise = true
        }
    }
    if result.isEmpty || result.first!.isNumber { result = "Model" + result }
    // `float` → `Float` would shadow the type every line uses.
    if isReservedInEmittedCode(result) { result += "Model" }
    return result
}

/// Where each step keeps its parameters in the flat weight buffer, in floats.
struct ParameterSlots {
    var weight = 0
    var bias = 0
    var count = 0
}

struct Emitter {
    let model: Model
    let plan: ExecutionPlan
    let options: EmitOptions
    let typeName: String
    let tiling: Tiling
    var slots: [Int: ParameterSlots] = [:]
    var parameterFloats = 0
    /// Floats of scratch after the arena, for padded input copies.
    var scratchFloats = 0
    /// Step layers whose outputs are in the NCHWc layout (see `planNCHWc`).
    var nchwc: Set<Int> = []

    init(model: Model, options: EmitOptions) {
        self.model = model
        self.plan = planExecution(model)
        self.options = options
        self.typeName = options.typeName ?? defaultTypeName(for: model.name)
        self.tiling = options.target.tiling
        nchwc = planNCHWc()
        for step in plan.steps {
            let layer = model.layers[step.layer]
            var slot = ParameterSlots()
            switch layer.op {
            case .conv(let c) where convolutionKind(step) != .depthwise:
                // Blocked layout: filters padded to whole blocks (or Winograd's transformed filters).
                let kind = convolutionKind(step)!
                let filters = tiling.paddedFilters(c)
                let weights = tiling.weightFloats(c, kind: kind)
                slot = ParameterSlots(weight: parameterFloats, bias: parameterFloats + weights, count: weights + filters)
                scratchFloats = max(scratchFloats, tiling.paddedCopyFloats(c, input: model.layers[layer.inputs[0]].outputShape, output: layer.outputShape, kind: kind))
            case .conv(let c), .convTranspose(let c):
                slot = ParameterSlots(
                    weight: parameterFloats, bias: parameterFloats + layer.parameters[0].elementCount,
                    count: layer.parameters[0].elementCount + c.filters)
                if case .conv = layer.op {
                    scratchFloats = max(scratchFloats, tiling.paddedCopyFloats(c, input: model.layers[layer.inputs[0]].outputShape, output: layer.outputShape, kind: convolutionKind(step)!))
                }
            case .dense(let inFeatures, let units, _, _):
                slot = ParameterSlots(weight: parameterFloats, bias: parameterFloats + inFeatures * units, count: inFeatures * units + units)
            case .batchNorm, .prelu:
                let channels = layer.outputShape.channels
                slot = ParameterSlots(weight: parameterFloats, bias: parameterFloats + channels, count: 2 * channels)
            case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .localResponseNorm, .activation, .softmax,
                .dropout, .flatten, .add, .concat, .channelPad, .identity:
                continue
            }
            slots[step.layer] = slot
            // Every layer's weights start on a 64-byte line, so whole-vector loads of them never straddle two.
            parameterFloats += (slot.count + 15) / 16 * 16
        }
        nameFunctions()
        shareFunctions()
    }

    /// For the first step of each distinct function, the later steps that call it instead of their own.
    var sharers: [Int: [Int]] = [:]
    /// For each of those later steps, the first step, whose function it calls.
    var sharedFunctionOf: [Int: Int] = [:]

    /// Lets steps whose functions would read the same (same shapes, weight layout and fusions; ResNet-152 has 36
    /// identical blocks in its third stage) call one function, which keeps big networks quick to compile.
    mutating func shareFunctions() {
        var firstWithBody: [String: Int] = [:]
        for step in plan.steps {
            var probe = SwiftWriter()
            lowerFunction(step, name: "f", into: &probe)
            if let first = firstWithBody[probe.text] {
                sharers[first, default: []].append(step.layer)
                sharedFunctionOf[step.layer] = first
                functionNames[step.layer] = functionNames[first]
            } else {
                firstWithBody[probe.text] = step.layer
            }
        }
    }

    func layer(_ id: Int) -> Layer { model.layers[id] }

    /// Which of a step's tensors (its first input, its output) are NCHWc.
    func nchwcSides(_ step: PlannedStep) -> NCHWcSides {
        NCHWcSides(input: nchwc.contains(step.inputs.first ?? 0), output: nchwc.contains(step.layer))
    }

    /// How a conv step is lowered (nil for other steps).
    func convolutionKind(_ step: PlannedStep) -> ConvolutionKind? {
        guard case .conv(let c) = layer(step.layer).op else { return nil }
        return tiling.convolutionKind(c, output: layer(step.layer).outputShape, nchwc: nchwcSides(step))
    }

    /// Whether a step takes the scratch buffer (for a padded copy of its input).
    func needsScratch(_ step: PlannedStep) -> Bool {
        let main = layer(step.layer)
        switch main.op {
        case .conv(let c): return tiling.paddedCopyFloats(c, input: layer(main.inputs[0]).outputShape, output: main.outputShape, kind: convolutionKind(step)!) > 0
        case .input, .convTranspose, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm,
            .activation, .prelu, .softmax, .dropout, .flatten, .dense, .add, .concat, .channelPad, .identity:
            return false
        }
    }

    /// Whether a step splits its work over `threads`: convs and dense layers by outputs, vector max pools by
    /// channels.
    func takesThreads(_ step: PlannedStep) -> Bool {
        switch layer(step.layer).op {
        case .conv, .dense: return true
        case .pool(let p): return isVectorPool(p, indexed: plan.indexedPools.contains(step.layer))
        case .input, .convTranspose, .globalPool, .adaptiveAvgPool, .maxUnpool, .batchNorm, .localResponseNorm,
            .activation, .prelu, .softmax, .dropout, .flatten, .add, .concat, .channelPad, .identity:
            return false
        }
    }

    /// The Swift identifier of each step's function, by step layer: `conv1`, `layer1_0_conv1`.
    var functionNames: [Int: String] = [:]

    func functionName(_ step: PlannedStep) -> String { functionNames[step.layer]! }

    /// Names every step's function after its layer, with `_2`, `_3`, … where two paths spell the same identifier
    /// (`a.b` and `a_b`).
    mutating func nameFunctions() {
        var used: Set<String> = []
        for step in plan.steps { functionNames[step.layer] = identifier(for: step.layer, unique: &used) }
    }

    /// A Swift identifier for a layer, distinct from those in `used` (`a.b` and `a_b` both spell `a_b`).
    func identifier(for id: Int, suffix extra: String = "", unique used: inout Set<String>) -> String {
        var base = ""
        for scalar in layer(id).name.unicodeScalars {
            base.unicodeScalars.append(
                (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) && scalar.isASCII ? scalar : "_")
        }
        if base.first?.isNumber ?? true || base.allSatisfy({ $0 == "_" }) {
            base = "layer_" + base
        } else if extra.isEmpty, isReservedInEmittedCode(base) {
            base += "_layer"  // `tanh`, `for`, `min`, `pad`: a keyword, or a name the file calls
        }
        base += extra
        var name = base
        var suffix = 1
        while !used.insert(name).inserted {
            suffix += 1
            name = "\(base)_\(suffix)"
        }
        return name
    }

    func render() -> String {
        var w = SwiftWriter()
        let access = options.access == "public" ? "public " : ""
        w.comment("DO NOT EDIT. Generated by convc from \(options.sourcePath).")
        w.comment("swift-format-ignore-file")
        w.line()
        w.line("import Foundation")
        w.line()
        w.doc("\(model.name): \(model.inputShape) → \(model.outputShape), \(grouped(model.parameterCount)) parameters, \(grouped(model.macs)) multiply-accumulates.")
        w.doc("")
        w.doc("Weights load at run time from PyTorch-named tensors (batch norm folded into the layer before it);")
        w.doc("`predict` runs the layers below in order on one activation arena of `arenaFloats` floats per sample.")
        if !nchwc.isEmpty {
            w.doc("")
            w.doc("Activations marked NCHWc are stored (C / \(nchwcLanes), H, W, \(nchwcLanes)): a pixel's \(nchwcLanes) channels side by side,")
            w.doc("one vector, which depthwise and 1×1 convs read and write whole; the others are NCHW, as in PyTorch.")
        }
        w.block("\(access)struct \(typeName): Sendable") { w in
            renderMetadata(&w, access: access)
            w.line()
            renderLoading(&w, access: access)
            w.line()
            renderPredict(&w, access: access)
        }
        w.line()
        w.block("extension \(typeName)") { w in
            for step in plan.steps where sharedFunctionOf[step.layer] == nil {
                lowerStep(step, into: &w)
                w.line()
            }
        }
        w.line()
        renderSupport(for: w.text, into: &w)
        return w.text
    }

    /// The support members the code so far uses (nested in the type, so several emitted files can share a
    /// module), then the safetensors reader if they read weights files.
    func renderSupport(for code: String, into w: inout SwiftWriter) {
        let support = selectSupport(for: code)
        w.block("extension \(typeName)") { w in
            for (index, declaration) in support.declarations.enumerated() {
                if index > 0 { w.line() }
                for line in declaration.split(separator: "\n", omittingEmptySubsequences: false) {
                    w.line(String(line.dropFirst(4)).replacingOccurrences(of: "EmittedSupport", with: typeName))
                }
            }
        }
        guard support.needsSafetensorsLayout else { return }
        w.line()
        w.block("extension \(typeName)") { w in
            for line in safetensorsLayoutSource.split(separator: "\n", omittingEmptySubsequences: false) { w.line(String(line)) }
        }
    }

    func renderMetadata(_ w: inout SwiftWriter, access: String) {
        func list(_ values: [Int]) -> String { "[" + values.map(literal).joined(separator: ", ") + "]" }
        w.line("\(access)static let inputShape = \(list(model.inputShape.dims))")
        w.line("\(access)static let outputShape = \(list(model.outputShape.dims))")
        w.line("\(access)static let parameterCount = \(literal(model.parameterCount))")
        w.line("\(access)static let nonTrainableParameterCount = \(literal(model.nonTrainableParameterCount))")
        w.line("\(access)static let macs = \(literal(model.macs))")
        w.doc("Floats of activations, placed by liveness after fusion: the peak activation memory `convc summary` reports.")
        w.line("\(access)static let activationFloats = \(literal(plan.arenaFloats))")
        w.doc("Floats of scratch for zero-padded copies of conv inputs.")
        w.line("\(access)static let scratchFloats = \(literal(scratchFloats))")
        w.doc("Floats of working memory `predict(_:batch:into:arena:)` needs: activations, then scratch.")
        w.line("\(access)static let arenaFloats = \(literal(max(plan.arenaFloats + scratchFloats, 1)))")
        w.line("static let inputCount = \(literal(model.inputShape.elementCount))")
        w.line("static let outputCount = \(literal(model.outputShape.elementCount))")
        // Tables as text where every name is one plain word (an array literal of tuples costs the optimiser
        // seconds on a large network); array literals otherwise. Kinds are the IR's own words ("conv (depthwise)"
        // holds a space, which the parser keeps).
        let layers = model.layers.dropFirst()
        let tabular = (layers.map(\.name) + model.parameters.map(\.name)).allSatisfy(isTableWord)
        func shape(_ dims: [Int]) -> String { dims.isEmpty ? "[]" : dims.map(String.init).joined(separator: "×") }
        w.doc("Every layer of the spec: name, kind, output shape, trainable parameters.")
        if tabular {
            w.line("\(access)static let layers: [(name: String, kind: String, outputShape: [Int], parameters: Int)] = Self.layerTable(#\"\"\"")
            writeTable(layers.map { [$0.name, $0.op.kindName, shape($0.outputShape.dims), String($0.trainableParameterCount)] }, into: &w)
            w.line("    \"\"\"#)")
        } else {
            w.line("\(access)static let layers: [(name: String, kind: String, outputShape: [Int], parameters: Int)] = [")
            for layer in layers {
                w.line("    (\(stringLiteral(layer.name)), \"\(layer.op.kindName)\", \(list(layer.outputShape.dims)), \(literal(layer.trainableParameterCount))),")
            }
            w.line("]")
        }
        w.doc("Every tensor the weights must provide, with PyTorch's shape.")
        if tabular {
            w.line("static let tensorShapes: [(name: String, shape: [Int])] = Self.tensorTable(#\"\"\"")
            writeTable(model.parameters.map { [$0.name, shape($0.shape)] }, into: &w)
            w.line("    \"\"\"#)")
        } else {
            w.line("static let tensorShapes: [(name: String, shape: [Int])] = [")
            for parameter in model.parameters {
                w.line("    (\(stringLiteral(parameter.name)), \(list(parameter.shape))),")
            }
            w.line("]")
        }
        if options.profiling {
            w.doc("Time spent in each step of the forward pass, summed over calls: (layer name, nanoseconds).")
            w.line("nonisolated(unsafe) static var stepNanoseconds: [(name: String, nanoseconds: UInt64)] = [")
            for step in plan.steps { w.line("    (\(stringLiteral(layer(step.layer).name)), 0),") }
            w.line("]")
        }
        w.line()
        w.doc("Folded weights in the order the layers read them, each layer's from a 64-byte boundary.")
        w.line("let storage: AlignedFloats")
    }

    func renderLoading(_ w: inout SwiftWriter, access: String) {
        w.doc("Loads a `.safetensors` file as `safetensors.torch.save_file(model.state_dict(), …)` writes it, by the")
        w.doc("rule `convc run` applies: tensors the model does not use (`num_batches_tracked`) are ignored, parameters")
        w.doc("are read from F32, F16, BF16, F64 or float8 tensors, and a prefix every name carries (`module.`) is")
        w.doc("read past unless `stripPrefix` names the one to use.")
        w.block("\(access)init(weights url: URL, stripPrefix: String? = nil) throws") { w in
            w.line("try self.init(tensors: try Self.readSafetensors(url, prefix: stripPrefix, checking: Self.tensorShapes))")
        }
        w.line()
        w.doc("Builds the model from tensors by name, each in PyTorch's layout (row-major, as `state_dict` has them).")
        w.block("\(access)init(tensors: [String: [Float]]) throws") { w in
            w.line("#if !CONVC_QUIET")
            w.line("_ = Self.printedBuildAdvice")
            w.line("#endif")
            w.line("\(slots.isEmpty ? "let" : "var") p = [Float](repeating: 0, count: \(literal(parameterFloats)))")
            for step in plan.steps {
                guard let slot = slots[step.layer] else { continue }
                let layer = layer(step.layer)
                let name = layer.name
                switch layer.op {
                case .conv(let c), .convTranspose(let c):
                    w.line("try Self.copy(tensors, \(stringLiteral(name + ".weight")), into: &p, at: \(literal(slot.weight)), count: \(literal(layer.parameters[0].elementCount)))")
                    if c.bias {
                        w.line("try Self.copy(tensors, \(stringLiteral(name + ".bias")), into: &p, at: \(literal(slot.bias)), count: \(literal(c.filters)))")
                    }
                    defer {
                        let kind = convolutionKind(step)
                        if case .conv = layer.op, kind == .winograd {
                            w.line("Self.winogradFilters(&p, at: \(literal(slot.weight)), filters: \(c.filters), channels: \(c.inChannels))")
                        } else if case .conv = layer.op, kind == .channelVectors {
                            w.line("Self.vectorFilters(&p, at: \(literal(slot.weight)), filters: \(c.filters), channels: \(c.inChannels), taps: \(c.kernel.h * c.kernel.w))")
                        } else if case .conv = layer.op, let kind, kind != .depthwise {
                            w.line("Self.blockFilters(&p, at: \(literal(slot.weight)), filters: \(c.filters), groups: \(c.groups), channels: \(c.inChannels / c.groups), taps: \(c.kernel.h * c.kernel.w), block: \(tiling.weightBlock(c, kind: kind, output: layer.outputShape, nchwc: nchwcSides(step))))")
                        } else if nchwc.contains(step.layer) {
                            w.line("Self.interleaveTaps(&p, at: \(literal(slot.weight)), channels: \(c.filters), taps: \(c.kernel.h * c.kernel.w))")
                        }
                    }
                    if let bn = step.foldedBatchNorm, case .batchNorm(let epsilon) = self.layer(bn).op {
                        // Output channel oc's weights: a contiguous block for conv; for a transposed conv, one
                        // block of kh·kw per input channel.
                        if case .conv = layer.op {
                            w.line("try Self.foldBatchNorm(tensors, \(stringLiteral(self.layer(bn).name)), epsilon: \(literal(epsilon)), into: &p, weight: \(literal(slot.weight)), bias: \(literal(slot.bias)), channels: \(c.filters), blocks: 1, blockStride: 0, channelStride: \(literal(layer.parameters[0].elementCount / c.filters)), run: \(literal(layer.parameters[0].elementCount / c.filters)))")
                        } else {
                            let taps = c.kernel.h * c.kernel.w
                            w.line("try Self.foldBatchNormTransposed(tensors, \(stringLiteral(self.layer(bn).name)), epsilon: \(literal(epsilon)), into: &p, weight: \(literal(slot.weight)), bias: \(literal(slot.bias)), inChannels: \(c.inChannels), outPerGroup: \(c.filters / c.groups), groups: \(c.groups), taps: \(taps))")
                        }
                    }
                case .dense(let inFeatures, let units, let bias, _):
                    w.line("try Self.copy(tensors, \(stringLiteral(name + ".weight")), into: &p, at: \(literal(slot.weight)), count: \(literal(inFeatures * units)))")
                    if bias {
                        w.line("try Self.copy(tensors, \(stringLiteral(name + ".bias")), into: &p, at: \(literal(slot.bias)), count: \(literal(units)))")
                    }
                    if let bn = step.foldedBatchNorm, case .batchNorm(let epsilon) = self.layer(bn).op {
                        w.line("try Self.foldBatchNorm(tensors, \(stringLiteral(self.layer(bn).name)), epsilon: \(literal(epsilon)), into: &p, weight: \(literal(slot.weight)), bias: \(literal(slot.bias)), channels: \(units), blocks: 1, blockStride: 0, channelStride: \(literal(inFeatures)), run: \(literal(inFeatures)))")
                    }
                case .batchNorm(let epsilon):
                    w.line("try Self.batchNormAffine(tensors, \(stringLiteral(name)), epsilon: \(literal(epsilon)), into: &p, scale: \(literal(slot.weight)), shift: \(literal(slot.bias)), channels: \(layer.outputShape.channels))")
                case .prelu(let perChannel):
                    w.line("try Self.copySlopes(tensors, \(stringLiteral(name + ".weight")), into: &p, at: \(literal(slot.weight)), channels: \(layer.outputShape.channels), perChannel: \(perChannel))")
                case .input, .pool, .globalPool, .adaptiveAvgPool, .maxUnpool, .localResponseNorm, .activation, .softmax,
                    .dropout, .flatten, .add, .concat, .channelPad, .identity:
                    break
                }
            }
            w.line("storage = AlignedFloats(copying: p)")
        }
    }

    func renderPredict(_ w: inout SwiftWriter, access: String) {
        w.doc("Runs the network on `[C, H, W]` or `[N, C, H, W]` values (C order) and returns `[N, …]` values.")
        w.doc("`threads` splits each convolution's output channels over that many threads.")
        w.block("\(access)func predict(_ input: [Float], threads: Int = 1) throws -> [Float]") { w in
            w.block("guard !input.isEmpty, input.count % Self.inputCount == 0 else") { w in
                w.line("throw WeightError(\"the input has \\(input.count) values; the network takes a multiple of \\(Self.inputCount) (\\(Self.inputShape.map(String.init).joined(separator: \"×\")) per sample)\")")
            }
            w.line("let batch = input.count / Self.inputCount")
            w.line("var output = [Float](repeating: 0, count: batch * Self.outputCount)")
            w.line("let arena = AlignedFloats(count: Self.arenaFloats)")
            w.block("input.withUnsafeBufferPointer", opening: " { x in") { w in
                w.block("output.withUnsafeMutableBufferPointer", opening: " { y in") { w in
                    w.line("predict(x.baseAddress!, batch: batch, into: y.baseAddress!, arena: arena.pointer, threads: threads)")
                }
            }
            w.line("return output")
        }
        w.line()
        w.doc("Allocation-free forward pass: `batch` samples from `input` into `output`, using `arena`")
        w.doc("(at least `arenaFloats` floats) for the activations. Allocate it once as")
        w.doc("`AlignedFloats(count: arenaFloats)`: an arena off a 64-byte boundary runs slower.")
        w.block("\(access)func predict(_ input: UnsafePointer<Float>, batch: Int, into output: UnsafeMutablePointer<Float>, arena a: UnsafeMutablePointer<Float>, threads: Int = 1)") { w in
            if !slots.isEmpty { w.line("let w = UnsafePointer(storage.pointer)") }
            if plan.steps.contains(where: needsScratch) { w.line("let scratch = a + \(literal(plan.arenaFloats))  // padded copies") }
            w.block("for n in 0..<batch") { w in
                w.line("let x = input + n &* Self.inputCount")
                // Each buffer gets a name where it is first written or read: `conv1Out`, `maxpoolIndices`.
                var names: [BufferKey: String] = [.output(0): "x"]
                var used: Set<String> = ["x", "w", "a", "n", "input", "output", "batch", "threads", "scratch"]
                func named(_ key: BufferKey, into w: inout SwiftWriter) -> String {
                    if let name = names[key] { return name }
                    let (id, suffix) = switch key {
                    case .output(let id): (id, "Out")
                    case .poolIndices(let id): (id, "Indices")
                    }
                    let name = identifier(for: id, suffix: suffix, unique: &used)
                    let layout = key == .output(id) && nchwc.contains(id) ? " NCHWc" : ""
                    w.line("let \(name) = a + \(literal(plan.offsets[key]!))  // \(layer(id).outputShape)\(layout)")
                    names[key] = name
                    return name
                }
                for (index, step) in plan.steps.enumerated() {
                    if let description = callDescription(step) { w.comment(description) }
                    var arguments = step.inputs.map { named(.output($0), into: &w) }
                    if case .maxUnpool(_, _, _, let pool) = layer(step.layer).op {
                        arguments.append(named(.poolIndices(plan.bufferOf[pool]), into: &w))
                    }
                    if let slot = slots[step.layer] { arguments.append("w + \(literal(slot.weight))") }
                    arguments.append(named(.output(step.layer), into: &w))
                    if plan.indexedPools.contains(step.layer) {
                        arguments.append(named(.poolIndices(step.layer), into: &w))
                    }
                    if needsScratch(step) { arguments.append("scratch") }
                    if takesThreads(step) { arguments.append("threads") }
                    if options.profiling { w.line("let start\(index) = DispatchTime.now().uptimeNanoseconds") }
                    w.line("Self.\(functionName(step))(\(arguments.joined(separator: ", ")))")
                    if options.profiling {
                        w.line("Self.stepNanoseconds[\(index)].nanoseconds += DispatchTime.now().uptimeNanoseconds - start\(index)")
                    }
                }
                let result = plan.bufferOf[model.outputLayer]
                w.line("(output + n &* Self.outputCount).update(from: \(named(.output(result), into: &w)), count: Self.outputCount)")
            }
        }
    }

    /// What a call in `predict` runs when its function's name does not say it all: the layers fused into it, and
    /// whose function it is when it is another layer's (`layer1.1.conv1, + bn1 folded (layer1_0_conv1's
    /// function)`); nil otherwise.
    func callDescription(_ step: PlannedStep) -> String? {
        var text = layer(step.layer).name
        if let bn = step.foldedBatchNorm { text += ", + \(layer(bn).name) folded" }
        if let add = step.fusedAdd { text += ", + \(layer(add).name) fused" }
        if let act = step.fusedActivation { text += ", + \(layer(act).name) fused" }
        if sharedFunctionOf[step.layer] != nil { text += " (\(functionName(step))'s function)" }
        return text == layer(step.layer).name ? nil : text
    }
}

/// Renders the Swift source for `model`.
public func emitSwift(_ model: Model, options: EmitOptions) -> String {
    Emitter(model: model, options: options).render()
}

/// A name a metadata table can hold as one field of a raw multi-line string.
func isTableWord(_ name: String) -> Bool {
    !name.isEmpty && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0 == "\"" || $0 == "#" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
}

/// Rows of space-separated fields, each column padded to its widest field, indented inside a multi-line string.
func writeTable(_ rows: [[String]], into w: inout SwiftWriter) {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (column, field) in row.enumerated() {
            if column == widths.count { widths.append(0) }
            widths[column] = max(widths[column], field.count)
        }
    }
    for row in rows {
        let fields = row.enumerated().map { column, field in
            column == row.count - 1 ? field : field + String(repeating: " ", count: widths[column] - field.count)
        }
        w.line("    " + fields.joined(separator: "  "))
    }
}

/// A Swift string literal for any text.
func stringLiteral(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": result += "\\\\"
        case "\"": result += "\\\""
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\u{\(String(scalar.value, radix: 16))}"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
