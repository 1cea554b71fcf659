// Matches a weights file against the parameters the checked model declares (PyTorch names and layouts).

import ConvcDiagnostics
import ConvcIR
import ConvcTensorIO

/// Parameters by name, checked against the model: every declared tensor present with its exact shape.
public struct WeightSet: Sendable {
    public var values: [String: [Float]]
    /// Tensors in the file that the model does not use (PyTorch's `num_batches_tracked` is ignored silently).
    public var unused: [String]

    public init(model: Model, tensors: [String: StoredTensor]) throws {
        var values: [String: [Float]] = [:]
        var missing: [Parameter] = []
        for parameter in model.parameters {
            guard let tensor = tensors[parameter.name] else {
                missing.append(parameter)
                continue
            }
            // A PReLU with one slope may be stored as shape [1] or []; everything else must match exactly.
            guard tensor.shape == parameter.shape
                || (parameter.shape == [1] && tensor.shape.isEmpty && tensor.values.count == 1)
            else {
                throw InterpreterError(
                    "tensor '\(parameter.name)' has shape \(tensor.shape), but the spec needs \(parameter.shape)")
            }
            values[parameter.name] = tensor.values
        }
        if let first = missing.first {
            let present = tensors.keys.filter { !values.keys.contains($0) }
            let suggestion = closestMatch(to: first.name, in: present).map { "; the closest name present is '\($0)'" }
                ?? (present.isEmpty ? "" : "; names present include \(present.sorted().prefix(3).map { "'\($0)'" }.joined(separator: ", "))")
            throw InterpreterError(
                "missing tensor '\(first.name)' \(first.shape)"
                    + (missing.count > 1 ? " (and \(missing.count - 1) more)" : "") + suggestion)
        }
        let declared = Set(model.parameters.map(\.name))
        self.values = values
        self.unused = tensors.keys.filter { !declared.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
    }
}
