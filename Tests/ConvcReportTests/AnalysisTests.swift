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

    @Test func aChannelGateSeesTheWholeInputButKeepsTheMapsSpacing() throws {
        let model = try compile(
            """
            input: [8, 16, 16]
            layers:
              - conv: { name: down, filters: 8, kernel: 3, stride: 2, padding: 1 }
              - squeeze_excitation: { name: se, squeeze_channels: 2 }
              - conv: { name: after, filters: 8, kernel: 3, padding: 1 }
            """)
        let fields = receptiveFields(of: model)
        func field(_ name: String) -> (Double, Double) {
            let rf = fields[model.layer(name)!.id]
            return (rf.size.h, rf.jump.h)
        }
        // down: 3, jump 2; the pool over its 8×8 map: 3 + 7·2 = 17, jump 16; the gated map: 17, jump 2 (not 16);
        // after: 17 + 2·2 = 21.
        #expect(field("se.avgpool") == (17, 16))
        #expect(field("se") == (17, 2))
        #expect(field("after") == (21, 2))
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

/// The fused plan that `convc emit` runs and `convc summary` reports, against hand-placed arenas (floats, batch 1;
/// the input has its own buffer).
@Suite struct ExecutionPlans {
    @Test func residualAddAndReluRunInTheSecondConvsOutputLoop() throws {
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - residual:
                  body:
                    - conv: { name: a, filters: 1, kernel: 3, padding: 1 }
                    - batch_norm: { name: n }
                    - conv: { name: b, filters: 1, kernel: 3, padding: 1 }
              - relu: { name: r }
            """)
        let plan = planExecution(model)
        let add = try #require(model.layers.first { $0.op == .add })
        let a = model.layer("a")!.id
        #expect(plan.steps.map(\.layer) == [a, model.layer("b")!.id])
        #expect(plan.steps[0].foldedBatchNorm == model.layer("n")!.id)
        let b = plan.steps[plan.steps.count - 1]
        #expect(b.fusedAdd == add.id && b.fusedActivation == model.layer("r")!.id)
        #expect(b.inputs == [a, 0])  // the add's other operand is the network input, read last
        // a's 16 floats at 0, live while b writes its 16 at 16: 32 floats
        #expect(plan.arenaFloats == 32)
        // The interpreter's plan keeps the add and the relu as steps of their own.
        let folding = planExecution(model, options: .foldingOnly)
        #expect(folding.steps.count == 4 && folding.steps.allSatisfy { $0.fusedAdd == nil })
    }

    @Test func addWaitsForTheLaterOperand() throws {
        // The projection (c) runs after b, so the add fuses into c, not b.
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - residual:
                  body:
                    - conv: { name: b, filters: 2, kernel: 3, padding: 1 }
                  shortcut:
                    - conv: { name: c, filters: 2, kernel: 1 }
            """)
        let plan = planExecution(model)
        let b = model.layer("b")!.id
        let add = try #require(model.layers.first { $0.op == .add })
        let fusedInto = try #require(plan.steps.first { $0.fusedAdd == add.id })
        #expect(fusedInto.layer != b && fusedInto.inputs.last == b)
    }

    @Test func concatBranchesWriteIntoTheirChannelSlices() throws {
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - concat:
                  - conv: { name: a, filters: 2, kernel: 1 }
                  - conv: { name: b, filters: 3, kernel: 1 }
              - conv: { name: c, filters: 1, kernel: 1 }
            """)
        let plan = planExecution(model)
        let concat = try #require(model.layers.first { $0.op == .concat })
        #expect(plan.inPlaceConcats == [concat.id])
        #expect(plan.steps.map(\.layer) == ["a", "b", "c"].map { model.layer($0)!.id })
        // the concat's 5 × 16 = 80 floats at 0: a's 2 channels at 0, b's 3 at 32; c's 16 after them
        #expect(plan.offset(of: concat.id) == 0 && plan.offset(of: model.layer("a")!.id) == 0)
        #expect(plan.offset(of: model.layer("b")!.id) == 32)
        #expect(plan.steps[2].inputs == [concat.id] && plan.steps[2].outputOffset == 80)
        #expect(plan.arenaFloats == 96)
    }

    @Test func chainedConcatsShareOneBuffer() throws {
        // DenseNet's pattern: each concat is the previous one plus a new slice.
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - conv: { name: stem, filters: 2, kernel: 1 }
              - concat: [[], [conv: { name: g1, filters: 1, kernel: 1 }]]
              - concat: [[], [conv: { name: g2, filters: 1, kernel: 1 }]]
            """)
        let plan = planExecution(model)
        #expect(plan.inPlaceConcats.count == 2)
        #expect(["stem", "g1", "g2"].map { plan.offset(of: model.layer($0)!.id)! } == [0, 32, 48])
        #expect(plan.arenaFloats == 64)
    }

    @Test func concatOfTheInputIsCopied() throws {
        // The input lives outside the arena, so this concat stays a step (all of its inputs or none go in place).
        let model = try compile(
            """
            input: [1, 4, 4]
            layers:
              - concat: [[], [conv: { name: g, filters: 1, kernel: 1 }]]
            """)
        let plan = planExecution(model)
        #expect(plan.inPlaceConcats.isEmpty && plan.steps.count == 2)
    }

    @Test func summaryReportsTheFusedArena() throws {
        let model = try loadSpec("specs/resnet18.yaml")
        // conv1's 64×112×112 output is live while the max pool writes 64×56×56: 802,816 + 200,704 floats
        #expect(planExecution(model).arenaFloats == 1_003_520)
        #expect(summarize(model).peakActivationBytes == 4_014_080)
        // layer by layer: conv1's and bn1's outputs (802,816 floats each) while bn1 runs
        #expect(summarize(model).unfusedPeakActivationBytes == 4 * 2 * 802_816)
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
