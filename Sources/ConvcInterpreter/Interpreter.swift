// Runs a checked model on weights and an input: PyTorch's inference semantics, fused where it changes nothing
// numerically that matters (batch norm folded into the conv before it, activations in the conv's output loop).

import ConvcIR
import Dispatch
import Foundation

/// A model prepared to run: weights validated, folded and packed once; `run` can be called many times.
public final class Interpreter: @unchecked Sendable {
    public let model: Model
    /// Threads used inside each layer.
    public let threads: Int
    let steps: [Step]
    /// For each layer, the layer whose buffer holds its output (itself, or what it aliases or was fused into).
    let bufferOf: [Int]
    /// For each buffer, the last step that reads it; freed after that.
    let lastRead: [Int]
    let scratchFloats: Int

    public init(model: Model, weights: WeightSet, threads: Int = 2) {
        self.model = model
        self.threads = max(1, threads)
        var planner = Planner(model: model, weights: weights.values)
        planner.plan()
        steps = planner.steps
        bufferOf = planner.bufferOf
        var lastRead = Array(repeating: -1, count: model.layers.count)
        for (index, step) in planner.steps.enumerated() {
            for input in step.inputs { lastRead[input] = index }
        }
        lastRead[planner.bufferOf[model.outputLayer]] = Int.max
        self.lastRead = lastRead
        scratchFloats = planner.scratchFloats
    }

    /// Runs the network once and returns the time each step took, in milliseconds, named by its layer.
    public func profile(_ input: Tensor) throws -> [(layer: String, milliseconds: Double)] {
        var timings: [(String, Double)] = []
        _ = try run(input) { step, nanoseconds in
            timings.append((self.model.layers[step.output].name + " (" + self.model.layers[step.output].op.kindName + ")", Double(nanoseconds) / 1e6))
        }
        return timings
    }

    /// Runs the network. `input` is `[C, H, W]` (batch 1) or `[N, C, H, W]` (or `[N, features]` for a flat input).
    public func run(_ input: Tensor) throws -> Tensor { try run(input, observe: nil) }

    func run(_ input: Tensor, observe: ((Step, UInt64) -> Void)?) throws -> Tensor {
        let sample = model.inputShape.dims
        let batch: Int
        if input.shape == sample {
            batch = 1
        } else if input.shape.count == sample.count + 1, Array(input.shape.dropFirst()) == sample, input.shape[0] > 0 {
            batch = input.shape[0]
        } else {
            throw InterpreterError(
                "the input has shape \(input.shape), but the spec takes \(sample) or [N, \(sample.map(String.init).joined(separator: ", "))]")
        }
        var buffers = [[Float]?](repeating: nil, count: model.layers.count)
        var indices = [Int: [Int32]]()
        buffers[0] = input.values
        var scratch = [Float](repeating: 0, count: scratchFloats)
        for (index, step) in steps.enumerated() {
            let start = observe == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            let output = step.execute(
                buffers: buffers, indices: &indices, batch: batch, threads: threads, scratch: &scratch)
            observe?(step, DispatchTime.now().uptimeNanoseconds - start)
            buffers[step.output] = output
            for input in Set(step.inputs) where lastRead[input] == index { buffers[input] = nil }
        }
        guard let values = buffers[bufferOf[model.outputLayer]] else {
            throw InterpreterError("internal error: the output buffer was released")
        }
        return Tensor(shape: [batch] + model.outputShape.dims, values: values)
    }
}

/// Splits `count` items over `threads` and runs `body(range)` for each part, in parallel when it pays.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let parts = max(1, min(threads, count / max(1, minimumPerThread)))
    if parts == 1 {
        body(0..<count)
        return
    }
    // The parts write disjoint ranges of the caller's buffers, which Sendable checking cannot see.
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = count * part / parts, end = count * (part + 1) / parts
            if start < end { work.value(start..<end) }
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
