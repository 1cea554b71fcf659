// Receptive fields, peak memory, depth folding and the JSON contract, against hand-computed values.

import ConvcFrontend
import ConvcIR
import ConvcReport
import Foundation
import Testing

@Suite struct ReceptiveFields {
    @Test func leNetGrowsByKernelTimesJump() throws {
        let model = try loadSpec("specs/lenet5.yaml")
        let fields = receptiveFields(of: model)
        func field(_ name: String) -> (Double, Double) {
            let rf = fields[model.layer(name)!.id]
            return (rf.size.h, rf.jump.h)
        }
        // conv1 5×5: 1 + 4·1 = 5, jump 1; pool1 2/2: 5 + 1·1 = 6, jump 2;
        // conv2 5×5: 6 + 4·2 = 14, jump 2; pool2: 14 + 1·2 = 16, jump 4
        #expect(field("conv1") == (5, 1))
        #expect(field("pool1") == (6, 2))
        #expect(field("conv2") == (14, 2))
        #expect(field("pool2") == (16, 4))
    }

    @Test func resNet18SeesFourHundredThirtyFivePixels() throws {
        // The published receptive field of ResNet-18's last conv stage: 435 pixels, jump 32.
        let model = try loadSpec("specs/resnet18.yaml")
        let fields = receptiveFields(of: model)
        let last = try #require(model.layer("layer4.1.relu_1"))
        #expect(fields[last.id].size.h == 435)
        #expect(fields[last.id].jump.h == 32)
    }

    @Test func branchesTakeTheLargestPathAndDilationWidens() throws {
        let model = try compile(
            """
            input: [8, 32, 32]
            layers:
              - concat:
                  name: cat
                  branches:
                    - conv: { name: small, filters: 4, kernel: 1 }
                    - conv: { name: wide, filters: 4, kernel: 3, dilation: 3, padding: 3 }
            """)
        let fields = receptiveFields(of: model)
        // dilated 3×3 with dilation 3 spans 7 pixels
        #expect(fields[model.layer("wide")!.id].size.h == 7)
        #expect(fields[model.layer("cat")!.id].size.h == 7)
    }

    @Test func transposedConvHalvesTheJump() throws {
        let model = try compile(
            """
            input: [8, 32, 32]
            layers:
              - conv: { name: down, filters: 8, kernel: 2, stride: 2 }
              - conv_transpose: { name: up, filters: 8, kernel: 2, stride: 2 }
            """)
        let fields = receptiveFields(of: model)
        #expect(fields[model.layer("down")!.id].jump.h == 2)
        #expect(fields[model.layer("up")!.id].jump.h == 1)
        // a 2×2 stride-2 transposed conv reads one input per output: the size stays 2
        #expect(fields[model.layer("up")!.id].size.h == 2)
    }
}

@Suite struct ActivationMemory {
    @Test func chainKeepsOnlyNeighboursAlive() throws {
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - conv: { name: a, filters: 2, kernel: 3, padding: 1 }
              - relu: { name: b }
              - max_pool: { name: c, kernel: 2 }
            """)
        // input 64 B + a 128 B = 192; a 128 + b 128 = 256; b 128 + c 32 = 160
        #expect(memoryPlan(of: model).peakBytes == 256)
        #expect(memoryPlan(of: model).totalOutputBytes == 64 + 128 + 128 + 32)
    }

    @Test func residualKeepsItsInputAliveUntilTheAdd() throws {
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - residual:
                  body:
                    - conv: { name: a, filters: 1, kernel: 3, padding: 1 }
                    - conv: { name: b, filters: 1, kernel: 3, padding: 1 }
            """)
        // during b: input (kept for the add) + a + b = 3 · 64 B; during the add: input + b + sum = 192 B
        #expect(memoryPlan(of: model).peakBytes == 192)
    }

    @Test func dropoutAndFlattenShareTheirInputsBuffer() throws {
        let model = try compile(
            """
            input: [4, 4, 4]
            layers:
              - dropout
              - flatten
              - dense: { units: 2 }
            """)
        // input 256 B (aliased by dropout and flatten) + dense output 8 B
        #expect(memoryPlan(of: model).peakBytes == 264)
    }
}

@Suite struct Reports {
    @Test func depthOneFoldsEachStageIntoARow() throws {
        let model = try loadSpec("specs/resnet18.yaml")
        let summary = summarize(model, depth: 1)
        #expect(
            summary.rows.map(\.name) == [
                "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc",
            ])
        let layer1 = summary.rows[4]
        // two basic blocks of 2·36,864 conv weights and 2·128 batch-norm parameters
        #expect(layer1.params == 2 * (2 * 36_864 + 2 * 128))
        #expect(layer1.outputShape == .chw(64, 56, 56))
        #expect(summarize(model, depth: 2).rows.filter { $0.kind == "basic" }.count == 8)
    }

    @Test func jsonHasTheContractedKeys() throws {
        let model = try loadSpec("specs/mobilenet_v1.yaml")
        let json = renderSummary(summarize(model), format: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in [
            "model", "input_shape", "output_shape", "params", "non_trainable_params", "macs", "flops",
            "peak_activation_bytes", "layers",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["params"] as? Int == 4_231_976)
        #expect(object["non_trainable_params"] as? Int == 21_888)
        #expect(object["macs"] as? Int == 568_740_352)
        #expect(object["output_shape"] as? [Int] == [1000])
        let layers = try #require(object["layers"] as? [[String: Any]])
        let first = layers[0]
        #expect(first["name"] as? String == "features.conv0.conv")
        #expect(first["kind"] as? String == "conv")
        #expect(first["output_shape"] as? [Int] == [32, 112, 112])
        #expect(first["params"] as? Int == 864)
        let rf = try #require(first["receptive_field"] as? [String: Any])
        #expect(rf["size"] as? [Int] == [3, 3])
        #expect(rf["jump"] as? [Int] == [2, 2])
    }

    @Test func csvAndMarkdownHaveARowPerLayer() throws {
        let model = try loadSpec("specs/lenet5.yaml")
        let csv = renderSummary(summarize(model), format: .csv).split(separator: "\n")
        #expect(csv.count == 13)
        #expect(csv[1] == "conv1,conv,6x28x28,156,117600,5,5,1,1,18816")
        let markdown = renderSummary(summarize(model), format: .markdown)
        #expect(markdown.contains("| `fc1` | dense | 120 | 48,120 | 48,000 | 32 / 20 | 480 B |"))
        #expect(markdown.contains("| Trainable params | 61,706 |"))
    }

    @Test func flopsAreTwiceTheMACsPlusOtherOps() throws {
        let model = try loadSpec("specs/lenet5.yaml")
        // other ops: conv/dense biases (4,704 + 1,600 + 120 + 84 + 10), ReLUs (4,704 + 1,600 + 120 + 84),
        // max-pool window reads (1,176·4 + 400·4)
        let other = (4_704 + 1_600 + 120 + 84 + 10) + (4_704 + 1_600 + 120 + 84) + (1_176 * 4 + 400 * 4)
        #expect(model.flops == 2 * 416_520 + other)
    }
}
