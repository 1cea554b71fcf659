// Blocks, repeats, residuals, branches and the names they produce.

import ConvcFrontend
import ConvcIR
import Testing

let basicBlockSpec = """
    blocks:
      basic(filters, stride = 1):
        - residual:
            body:
              - conv: { name: conv1, filters: $filters, kernel: 3, stride: $stride, padding: 1, bias: false }
              - batch_norm: { name: bn1 }
              - relu
              - conv: { name: conv2, filters: $filters, kernel: 3, padding: 1, bias: false }
              - batch_norm: { name: bn2 }
            shortcut: auto
        - relu
    """

@Suite struct Structure {
    @Test func residualAutoShortcutProjectsOnlyWhenTheShapeChanges() throws {
        let model = try compileModel(
            """
            input: [64, 56, 56]
            \(basicBlockSpec)
            layers:
              - group:
                  name: layer2
                  layers:
                    - basic: { filters: 128, stride: 2 }
                    - basic: { filters: 128 }
            """)
        let names = model.layers.map(\.name)
        #expect(
            names == [
                "input",
                "layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu", "layer2.0.conv2", "layer2.0.bn2",
                "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.add", "layer2.0.relu_1",
                "layer2.1.conv1", "layer2.1.bn1", "layer2.1.relu", "layer2.1.conv2", "layer2.1.bn2",
                "layer2.1.add", "layer2.1.relu_1",
            ])
        let projection = try #require(model.layer("layer2.0.downsample.0"))
        #expect(projection.parameters[0].shape == [128, 64, 1, 1])
        guard case .conv(let conv) = projection.op else {
            Issue.record("not a conv")
            return
        }
        #expect(conv.stride == Pair(2, 2))
        #expect(model.outputShape == .chw(128, 28, 28))
        // torchvision's layer2 of ResNet-18: 8,192 + 256 projection, 73,728 + 147,456·3 convs, 256·4 bn
        #expect(model.parameterCount == 73_728 + 147_456 * 3 + 8_192 + 256 * 5)
        #expect(model.scopes.contains(Scope(path: ["layer2", "0"], kind: "basic")))
    }

    @Test func concatSumsChannelsAndAnEmptyBranchIsTheInput() throws {
        let model = try compileModel(
            """
            input: [64, 28, 28]
            blocks:
              dense_layer(growth):
                - concat:
                    - []
                    - [batch_norm: { name: norm }, relu, conv: { name: conv, filters: $growth, kernel: 3, padding: 1 }]
            layers:
              - dense_layer: { name: d1, growth: 32 }
              - dense_layer: { name: d2, growth: 32 }
            """)
        #expect(model.layer("d1.concat")?.outputShape == .chw(96, 28, 28))
        #expect(model.outputShape == .chw(128, 28, 28))
        #expect(model.layer("d2.norm")?.outputShape == .chw(96, 28, 28))
        #expect(model.layer("d1.concat")?.inputs == [0, model.layer("d1.conv")!.id])
    }

    @Test func groupChildrenAreNumberedAndRepeatKeepsCounting() throws {
        let model = try compileModel(
            """
            input: [3, 32, 32]
            layers:
              - group:
                  name: features
                  layers:
                    - repeat: { count: 2, layers: [conv: { filters: 8, kernel: 3, padding: 1 }, relu] }
                    - max_pool: { kernel: 2 }
              - flatten
              - dense: { name: fc, units: 10 }
            """)
        #expect(
            model.layers.map(\.name) == [
                "input", "features.0", "features.1", "features.2", "features.3", "features.4", "flatten", "fc",
            ])
        #expect(model.layer("features.2")?.parameters[0].shape == [8, 8, 3, 3])
    }

    @Test func aTransparentBlockNamesItsLayersWhereItIsUsed() throws {
        // torchvision's Conv2dNormActivation is a Sequential of its own: features.1.0 (conv), features.1.1 (bn).
        let model = try compileModel(
            """
            input: [3, 16, 16]
            blocks:
              conv_bn(filters):
                transparent: true
                layers:
                  - group: [conv: { filters: $filters, kernel: 3, padding: 1 }, batch_norm]
              plain(filters):
                - conv: { filters: $filters, kernel: 1 }
            layers:
              - group:
                  name: features
                  layers:
                    - conv_bn: { filters: 8 }
                    - conv_bn: { filters: 4 }
                    - plain: { filters: 2 }
              - conv_bn: { filters: 2 }
              - conv_bn: { filters: 2 }
            """)
        #expect(
            model.layers.map(\.name) == [
                "input", "features.0.0", "features.0.1", "features.1.0", "features.1.1", "features.2.conv",
                "group.0", "group.1", "group_1.0", "group_1.1",
            ])
        #expect(model.layer("features.1.0")?.parameters[0].shape == [4, 8, 3, 3])
        // A transparent instance adds no scope of its own; the opaque one does.
        #expect(model.scopes.contains(Scope(path: ["features", "2"], kind: "plain")))
        #expect(!model.scopes.contains { $0.kind == "conv_bn" })
    }

    @Test func blockArgumentsTakeArithmeticAndDefaults() throws {
        let model = try compileModel(
            """
            input: [256, 14, 14]
            blocks:
              bottleneck(filters, width = $filters // 4, expansion = 4):
                - conv: { name: reduce, filters: $width, kernel: 1 }
                - conv: { name: expand, filters: $filters * $expansion / 4, kernel: 1 }
            layers:
              - bottleneck: { name: b, filters: 256 }
            """)
        #expect(model.layer("b.reduce")?.outputShape == .chw(64, 14, 14))
        #expect(model.layer("b.expand")?.outputShape == .chw(256, 14, 14))
    }

    @Test func defaultsApplyPerKindAndLayersOverrideThem() throws {
        let model = try compileModel(
            """
            input: [3, 32, 32]
            defaults:
              conv: { kernel: 3, padding: 1, bias: false, activation: relu }
            layers:
              - conv: { name: a, filters: 16 }
              - conv: { name: b, filters: 16, kernel: 1, padding: 0 }
            """)
        #expect(model.layer("a")?.trainableParameterCount == 16 * 27)
        #expect(model.layer("b")?.trainableParameterCount == 16 * 16)
        guard case .conv(let conv) = model.layer("a")?.op else {
            Issue.record("not a conv")
            return
        }
        #expect(conv.activation == .relu)
    }

    @Test func inputReadsANamedEarlierLayer() throws {
        let model = try compileModel(
            """
            input: [3, 16, 16]
            layers:
              - conv: { name: stem, filters: 8, kernel: 3, padding: 1 }
              - conv: { name: left, filters: 8, kernel: 3, padding: 1 }
              - conv: { name: right, input: stem, filters: 8, kernel: 1 }
              - add: { name: sum, inputs: [left, right] }
            """)
        #expect(model.layer("right")?.inputs == [model.layer("stem")!.id])
        #expect(model.layer("sum")?.inputs == [model.layer("left")!.id, model.layer("right")!.id])
    }

    @Test func aWholeValueExpressionInBracesIsANumber() throws {
        let model = try compileModel(
            """
            input: [3, 8, 8]
            blocks:
              b(p):
                - conv:
                    filters: ${$p * 2}
                    kernel: 1
            layers: [b: { p: 3 }]
            """)
        #expect(model.outputShape == .chw(6, 8, 8))
    }
}
