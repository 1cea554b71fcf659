// Matches a weights file against the parameters the checked model declares (PyTorch names and layouts).

import ConvcDiagnostics
import ConvcIR
import ConvcTensorIO

/// Parameters by name, checked against the model: every declared tensor present with its exact shape.
public struct WeightSet: Sendable {
    public var values: [String: [Float]]
    /// Tensors in the file that the model does not use, sorted (PyTorch's `num_batches_tracked` is ignored
    /// silently, as every tensor the model does not use is: it is only listed here).
    public var unused: [String]
    /// The prefix the file's names carried and that was read past (`module.` from `nn.DataParallel`), or "".
    public var strippedPrefix: String

    /// Reads the model's parameters from a file, under `prefix` when given; without one, a prefix that every
    /// name in the file shares (`module.`) is found and read past when that makes every parameter present.
    public init(model: Model, file: SafeTensorsFile, prefix: String? = nil) throws {
        let prefix = prefix ?? file.namePrefix(for: model.parameters.map(\.name)) ?? ""
        try self.init(model: model, names: file.names, prefix: prefix) { name, shape in
            try file.floats(name, shape: shape)
        }
    }

    /// The model's parameters from tensors in memory (`convc init`'s, or a test's).
    public init(model: Model, tensors: [String: StoredTensor]) throws {
        try self.init(model: model, names: tensors.keys.sorted(), prefix: "") { name, shape in
            let tensor = tensors[name]!
            // A PReLU with one slope may be stored as shape [1] or [], as in a file.
            guard tensor.shape == shape || (shape == [1] && tensor.shape.isEmpty && tensor.values.count == 1) else {
                throw InterpreterError(
                    "tensor \(SafeTensorsFile.quoted(name)) has shape \(tensor.shape), but the spec needs \(shape)")
            }
            return tensor.values
        }
    }

    init(model: Model, names: [String], prefix: String, read: (String, [Int]) throws -> [Float]) throws {
        let present = Set(names)
        let missing = model.parameters.filter { !present.contains(prefix + $0.name) }
        if let first = missing.first {
            throw InterpreterError(
                Self.missingMessage(first, count: missing.count, prefix: prefix, names: names, parameters: model.parameters))
        }
        var values: [String: [Float]] = [:]
        for parameter in model.parameters {
            values[parameter.name] = try read(prefix + parameter.name, parameter.shape)
        }
        let used = Set(model.parameters.map { prefix + $0.name })
        self.values = values
        self.unused = names.filter { !used.contains($0) && !$0.hasSuffix("num_batches_tracked") }
        self.strippedPrefix = prefix
    }

    /// `missing tensor 'fc.weight' [10, 64] (and 3 more)`, with the likeliest cause: every name under a prefix,
    /// or the closest name present.
    static func missingMessage(_ first: Parameter, count: Int, prefix: String, names: [String], parameters: [Parameter]) -> String {
        let quote = SafeTensorsFile.quoted
        let message = "missing tensor \(quote(prefix + first.name)) \(first.shape)"
            + (count > 1 ? " (and \(count - 1) more)" : "")
        // A prefix is suggested only when it makes every parameter present.
        let present = Set(names)
        if !prefix.isEmpty, parameters.allSatisfy({ present.contains($0.name) }) {
            return message + "; the file has \(quote(first.name)): read it without a prefix"
        }
        let prefixes = names.filter { $0.hasSuffix("." + first.name) }.map { String($0.dropLast(first.name.count)) }
        if let other = prefixes.first(where: { other in parameters.allSatisfy { present.contains(other + $0.name) } }) {
            return message + "; the file has \(quote(other + first.name)): read it with the prefix \(quote(other)) (--strip-prefix)"
        }
        if let closest = closestMatch(to: prefix + first.name, in: names) {
            return message + "; the closest name present is \(quote(closest))"
        }
        return message + (names.isEmpty ? "; the file has no tensors" : "; names present include \(names.prefix(3).map(quote).joined(separator: ", "))")
    }
}
