// The per-layer summary that `convc summary` prints, built once and rendered in each format.

import ConvcIR

/// One row of the summary: a layer, or a block folded by `--depth`.
public struct SummaryRow: Sendable {
    public var name: String
    public var kind: String
    public var outputShape: Shape
    public var params: Int
    public var macs: Int
    public var receptiveField: ReceptiveField
    /// Bytes of the row's output tensor in fp32.
    public var outputBytes: Int
}

/// Everything a report prints.
public struct Summary: Sendable {
    public var model: String
    public var inputShape: Shape
    public var outputShape: Shape
    public var rows: [SummaryRow]
    public var params: Int
    public var nonTrainableParams: Int
    public var macs: Int
    public var flops: Int
    /// The activation arena as `convc emit` plans it (batch norms folded; activations, residual adds and concats
    /// in place; buffers reused by liveness): the emitted `activationFloats` × 4.
    public var peakActivationBytes: Int
    /// Peak of every layer's output kept separately until its last reader (no fusion), for comparison.
    public var unfusedPeakActivationBytes: Int
    public var layerCount: Int

    /// Bytes of all stored values (parameters and running statistics) at `bytesPerValue`.
    public func weightBytes(_ bytesPerValue: Int) -> Int { (params + nonTrainableParams) * bytesPerValue }
}

/// Builds the summary; `depth` folds layers nested deeper than that many name components into their block's row.
public func summarize(_ model: Model, depth: Int? = nil) -> Summary {
    let fields = receptiveFields(of: model)
    let unfused = memoryPlan(of: model)
    let scopeKinds = Dictionary(model.scopes.map { ($0.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
    var rows: [SummaryRow] = []
    var currentKey: [String]? = nil
    for layer in model.layers.dropFirst() {
        let row = SummaryRow(
            name: layer.name, kind: layer.op.kindName, outputShape: layer.outputShape,
            params: layer.trainableParameterCount, macs: layer.macs, receptiveField: fields[layer.id],
            outputBytes: layer.outputShape.elementCount * 4)
        guard let depth, layer.path.count > depth else {
            rows.append(row)
            currentKey = nil
            continue
        }
        let key = Array(layer.path.prefix(depth))
        if key == currentKey, var last = rows.popLast() {
            last.params += row.params
            last.macs += row.macs
            last.outputShape = row.outputShape
            last.receptiveField = row.receptiveField
            last.outputBytes = row.outputBytes
            rows.append(last)
        } else {
            var folded = row
            folded.name = key.joined(separator: ".")
            folded.kind = scopeKinds[key] ?? "group"
            rows.append(folded)
            currentKey = key
        }
    }
    return Summary(
        model: model.name, inputShape: model.inputShape, outputShape: model.outputShape, rows: rows,
        params: model.parameterCount, nonTrainableParams: model.nonTrainableParameterCount, macs: model.macs,
        flops: model.flops, peakActivationBytes: planExecution(model).arenaFloats * 4,
        unfusedPeakActivationBytes: unfused.peakBytes, layerCount: model.layers.count - 1)
}
