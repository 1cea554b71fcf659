// Every spec in specs/ against PyTorch's own figures (Tests/Fixtures/reference-layers.json and
// reference-modern.json, copies of the reference data built from torchvision 0.29.2 and hand-written PyTorch
// models) and against its golden summary.

import ConvcFrontend
import ConvcIR
import ConvcReport
import Foundation
import Testing

/// The reference network each spec reproduces.
let referenceNames: [String: String] = [
    "alexnet.yaml": "alexnet", "alexnet2012.yaml": "alexnet2012_groups2", "densenet121.yaml": "densenet121",
    "enet.yaml": "enet_camvid12", "googlenet.yaml": "googlenet", "lenet5.yaml": "lenet5_maxpool",
    "mobilenet_v1.yaml": "mobilenet_v1", "nin_cifar10.yaml": "nin_cifar10", "resnet18.yaml": "resnet18",
    "resnet34.yaml": "resnet34", "resnet50.yaml": "resnet50", "resnet101.yaml": "resnet101",
    "resnet152.yaml": "resnet152", "vgg11.yaml": "vgg11", "vgg13.yaml": "vgg13", "vgg16.yaml": "vgg16",
    "vgg16_bn.yaml": "vgg16_bn", "vgg19.yaml": "vgg19",
    "mobilenet_v3_small.yaml": "mobilenet_v3_small", "mobilenet_v3_large.yaml": "mobilenet_v3_large",
    "efficientnet_b0.yaml": "efficientnet_b0", "efficientnet_v2_s.yaml": "efficientnet_v2_s",
    "regnet_y_400mf.yaml": "regnet_y_400mf", "shufflenet_v2_x1_0.yaml": "shufflenet_v2_x1_0",
    "convnext_tiny.yaml": "convnext_tiny", "fcn_resnet50.yaml": "fcn_resnet50",
    "deeplabv3_mobilenet_v3_large.yaml": "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large.yaml": "lraspp_mobilenet_v3_large",
]

struct ReferenceLayer: Decodable {
    var name: String
    var type: String
    var output_shape: [Int]
    var params: Int
}

struct ReferenceModel: Decodable {
    var input_shape: [Int]
    var output_shape: [Int]
    var params: Int
    var batch_norm_running_stats: Int
    var macs: Int
    var layers: [ReferenceLayer]
    /// Parameter and buffer names with their shapes (modern networks only; `num_batches_tracked` left out).
    var state_dict: [String: [Int]]?
}

/// The classic networks (shapes with the batch) and the modern ones (totals' shapes without it, written here
/// with the batch of 1 so both read alike).
let referenceModels: [String: ReferenceModel] = {
    struct File: Decodable { var models: [String: ReferenceModel] }
    func load(_ file: String) -> [String: ReferenceModel] {
        let url = packageRoot.appendingPathComponent("Tests/Fixtures/" + file)
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else {
            return [:]
        }
        return file.models
    }
    let modern = load("reference-modern.json").mapValues { model in
        var batched = model
        batched.input_shape = [1] + model.input_shape
        batched.output_shape = [1] + model.output_shape
        return batched
    }
    return load("reference-layers.json").merging(modern) { classic, _ in classic }
}()

@Suite struct ReferenceNetworks {
    @Test func everySpecHasAReference() {
        #expect(Set(referenceSpecs) == Set(referenceNames.keys))
        #expect(referenceModels.count == 18 + 10)
        #expect(referenceNames.values.filter { referenceModels[$0]?.state_dict != nil }.count == 10)
    }

    @Test(arguments: referenceSpecs)
    func specMatchesPyTorch(_ spec: String) throws {
        let model = try loadSpec("specs/" + spec)
        let reference = try #require(referenceModels[referenceNames[spec] ?? ""])
        #expect(model.inputShape.dims == Array(reference.input_shape.dropFirst()))
        #expect(model.outputShape.dims == Array(reference.output_shape.dropFirst()))
        #expect(model.parameterCount == reference.params)
        #expect(model.nonTrainableParameterCount == reference.batch_norm_running_stats)
        #expect(model.macs == reference.macs)

        // Layer by layer. PyTorch lists a reused module (torchvision's one `relu` per block) at every call;
        // convc names the k-th call `relu_k`.
        var byName: [String: Layer] = [:]
        for layer in model.layers where byName[layer.name] == nil { byName[layer.name] = layer }
        var calls: [String: Int] = [:]
        var matchedParameterLayers = 0
        for layer in reference.layers {
            let call = calls[layer.name, default: 0]
            calls[layer.name] = call + 1
            let name = call == 0 ? layer.name : "\(layer.name)_\(call)"
            guard let ours = byName[name] else {
                // Only layers PyTorch applies functionally may be missing, and they have no parameters.
                #expect(layer.params == 0, "missing \(layer.name)")
                continue
            }
            // ConvNeXt's Linear and LayerNorm run between permutes on channels-last values, which are NCHW here.
            let shape = Array(layer.output_shape.dropFirst())
            let channelsFirst = shape.count == 3 && ["Linear", "LayerNorm", "GELU"].contains(layer.type) ? [shape[2], shape[0], shape[1]] : shape
            #expect(ours.outputShape.dims == channelsFirst, "\(layer.name)")
            #expect(ours.trainableParameterCount == layer.params, "\(layer.name)")
            if layer.params > 0 { matchedParameterLayers += 1 }
        }
        #expect(matchedParameterLayers == reference.layers.filter { $0.params > 0 }.count)
        // A block's own parameter (ConvNeXt's layer_scale) is a `scale` layer here, and no leaf module there.
        let blockParameters = model.layers.filter { $0.op == .scale }.count
        #expect(model.layers.filter { $0.trainableParameterCount > 0 }.count == matchedParameterLayers + blockParameters)

        // Every name and shape PyTorch saves, so its weights load without renaming.
        if let stateDict = reference.state_dict {
            let ours = model.layers.flatMap(\.parameters).map { ($0.name, $0.shape) }
            #expect(ours.count == stateDict.count)
            #expect(Dictionary(ours, uniquingKeysWith: { first, _ in first }) == stateDict)
        }
    }

    @Test(arguments: referenceSpecs)
    func summaryMatchesGoldenFile(_ spec: String) throws {
        let model = try loadSpec("specs/" + spec)
        let text = renderSummary(summarize(model), format: .table)
        let golden = packageRoot.appendingPathComponent(
            "Tests/Fixtures/golden/" + spec.replacingOccurrences(of: ".yaml", with: ".txt"))
        if recording {
            try text.write(to: golden, atomically: true, encoding: .utf8)
            Issue.record("recorded \(golden.lastPathComponent); run again without CONVC_RECORD")
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "regenerate with CONVC_RECORD=1 swift test --filter summaryMatchesGoldenFile")
    }
}
