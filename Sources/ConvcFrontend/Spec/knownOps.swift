// Layer kinds a user may write from PyTorch or ONNX habit: the module names convc spells differently, and the ops
// it does not have, so an unknown kind is answered with what it is rather than the nearest spelling of another op.

import ConvcIR

/// What convc knows about a kind name it does not accept.
enum KnownOp {
    /// PyTorch's or ONNX's name for a kind convc has.
    case spelledDifferently(LayerKind, as: String)
    /// An op convc's language does not have.
    case unsupported(String)
    /// An op of other kinds of network than the convolutional ones convc compiles.
    case outOfScope(String)
}

/// The known op a spec's unknown `kind` names, matched without case, underscores or a `2d` suffix.
func knownOp(named kind: String) -> KnownOp? {
    var key = kind.lowercased().filter { $0 != "_" && $0 != "." && $0 != " " }
    for prefix in ["torch", "nn", "f"] where key.hasPrefix(prefix) && knownOps[String(key.dropFirst(prefix.count))] != nil {
        key = String(key.dropFirst(prefix.count))
    }
    if key.hasSuffix("2d"), knownOps[String(key.dropLast(2))] != nil { key = String(key.dropLast(2)) }
    return knownOps[key]
}

/// The message for a known op, appended to "unknown layer kind 'X'".
func knownOpAdvice(_ op: KnownOp) -> String {
    switch op {
    case .spelledDifferently(let kind, let name): "; did you mean '\(kind.spelling)'? (\(name))"
    case .unsupported(let name):
        "; \(name) is not in convc's language yet (docs/spec-language.md lists the layer kinds)"
    case .outOfScope(let name): "; \(name) belongs to sequence models; convc compiles convolutional networks"
    }
}

/// Keys are lowercased, without underscores or a `2d` suffix.
private let knownOps: [String: KnownOp] = {
    var table: [String: KnownOp] = [:]
    func spelled(_ kind: LayerKind, _ names: [String], as shown: String) {
        for name in names { table[name] = .spelledDifferently(kind, as: shown) }
    }
    spelled(.conv, ["conv", "convolution"], as: "PyTorch's nn.Conv2d, ONNX Conv")
    spelled(.convTranspose, ["convtranspose", "deconv", "deconvolution"], as: "PyTorch's nn.ConvTranspose2d")
    spelled(.maxPool, ["maxpool", "maxpooling"], as: "PyTorch's nn.MaxPool2d")
    spelled(.avgPool, ["avgpool", "averagepool", "averagepooling"], as: "PyTorch's nn.AvgPool2d")
    spelled(.globalAvgPool, ["globalaveragepool", "globalavgpooling"], as: "ONNX's GlobalAveragePool")
    spelled(.globalMaxPool, ["globalmaxpooling"], as: "ONNX's GlobalMaxPool")
    spelled(.adaptiveAvgPool, ["adaptiveavgpool", "adaptiveaveragepool"], as: "PyTorch's nn.AdaptiveAvgPool2d")
    spelled(.maxUnpool, ["maxunpool"], as: "PyTorch's nn.MaxUnpool2d")
    spelled(.batchNorm, ["batchnorm", "batchnormalization", "bn"], as: "PyTorch's nn.BatchNorm2d")
    spelled(.localResponseNorm, ["localresponsenorm", "lrn"], as: "PyTorch's nn.LocalResponseNorm, ONNX LRN")
    spelled(.leakyReLU, ["leakyrelu"], as: "PyTorch's nn.LeakyReLU")
    spelled(.silu, ["swish"], as: "PyTorch's nn.SiLU")
    spelled(.hardswish, ["hswish", "hardswish"], as: "PyTorch's nn.Hardswish")
    spelled(.hardsigmoid, ["hsigmoid", "hardsigmoid"], as: "PyTorch's nn.Hardsigmoid")
    spelled(.dropout, ["dropout"], as: "PyTorch's nn.Dropout")
    spelled(.spatialDropout, ["dropout2d", "spatialdropout"], as: "PyTorch's nn.Dropout2d")
    spelled(.dense, ["linear", "fc", "fullyconnected", "gemm", "matmul", "innerproduct"], as: "PyTorch's nn.Linear, ONNX Gemm")
    spelled(.add, ["sum", "plus"], as: "an element-wise sum, ONNX Add or Sum")
    spelled(.concat, ["cat", "concatenate"], as: "torch.cat, ONNX Concat")
    spelled(.layerNorm, ["layernorm", "layernorm2d", "ln"], as: "PyTorch's nn.LayerNorm, torchvision's LayerNorm2d")
    table["groupnorm"] = .unsupported("PyTorch's nn.GroupNorm")
    table["instancenorm"] = .unsupported("PyTorch's nn.InstanceNorm2d")
    spelled(.upsample, ["upsample", "interpolate", "resize", "upsampling", "upsamplingbilinear", "upsamplingnearest"], as: "PyTorch's F.interpolate, ONNX Resize")
    for name in ["pixelshuffle", "depthtospace"] { table[name] = .unsupported("PyTorch's nn.PixelShuffle") }
    spelled(.channelShuffle, ["channelshuffle", "shuffle"], as: "PyTorch's nn.ChannelShuffle")
    spelled(.slice, ["split", "chunk", "narrow", "channelslice", "channelsplit"], as: "one layer per part: torch.chunk, ONNX Split")
    spelled(.multiply, ["mul", "multiply", "product", "prod"], as: "an element-wise product, ONNX Mul")
    spelled(.scale, ["layerscale", "channelscale"], as: "a learned per-channel factor")
    for name in ["pad", "zeropad", "constantpad", "reflectionpad", "replicationpad"] {
        table[name] = .unsupported("padding as a layer (PyTorch's nn.ZeroPad2d, ONNX Pad)")
    }
    table["gelutanh"] = .spelledDifferently(.gelu, as: "write gelu: { approximate: tanh }")
    for name in ["hardtanh", "elu", "selu", "celu", "mish", "softplus", "softsign", "logsoftmax"] {
        table[name] = .unsupported("the activation '\(name)'")
    }
    spelled(.squeezeExcitation, ["squeezeexcitation", "squeezeexcite", "se", "seblock", "selayer"], as: "torchvision's SqueezeExcitation")
    for name in ["stochasticdepth", "droppath"] { table[name] = .unsupported("stochastic depth (identity at inference: write 'identity')") }
    for (name, module) in [("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "RNN"), ("embedding", "Embedding"),
                           ("multiheadattention", "MultiheadAttention"), ("transformer", "Transformer")] {
        table[name] = .outOfScope("PyTorch's nn.\(module)")
    }
    return table
}()
