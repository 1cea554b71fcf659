// Tensors the interpreter reads and writes: a batch of NCHW (or N×features) float32 values.

/// A dense float32 tensor in C order; `shape[0]` is the batch.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }
}

/// A problem with the weights or the input, in one sentence that names it.
public struct InterpreterError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
