// Hostile input never crashes or hangs the checker: each case ends in diagnostics (cases found by fuzzing
// included), within the limits the spec language documents.

import ConvcDiagnostics
import ConvcFrontend
import Testing

/// Compiles and returns the categories of the errors, which must be non-empty.
func errorCategories(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
    let (model, engine) = compileSpec(text, file: "hostile.yaml")
    #expect(model == nil, sourceLocation: sourceLocation)
    #expect(engine.hasErrors, sourceLocation: sourceLocation)
    return engine.diagnostics.filter { $0.severity == .error }.compactMap(\.category)
}

@Suite struct Robustness {
    @Test(arguments: [
        // found by fuzzing: shape arithmetic on absurd sizes
        "input: [2,2,2]\nlayers: [{conv: {filters: 2, kernel: 2, stride: 9223372036854775807, padding: 1}}]",
        "input: [1,2,2]\nlayers: [{avg_pool: {kernel: 9223372036854775807, stride: 2, ceil_mode: true}}]",
        "input: [1,1,1]\nlayers: [{conv: {filters: 1, kernel: 1, padding: [1, 8, 9223372036854775807, 1]}}]",
        "input: [1,8,8]\nlayers: [{max_pool: {kernel: 1, return_indices: true, name: p}}, {max_unpool: {indices: p, stride: 4611686018427387904}}]",
        "input: [2,1,1]\nlayers: [{local_response_norm: {size: 9223372036854775807}}]",
        "input: [1,9223372036854775807,1]\nlayers: [relu]",
        "input: [65536, 999999999, 3037000500]\nlayers: [relu6]",
        "input: [2,2,2]\nlayers: [{adaptive_avg_pool: {output: [2, 9223372036854775807]}}]",
        "input: [1,2,2]\nlayers: [{channel_pad: {channels: 4611686018427387904}}]",
        "input: [1,2,1]\nlayers: [{conv_transpose: {filters: 1, kernel: 2, stride: 9223372036854775807, output_padding: 1}}]",
        "input: [1,2,2]\nlayers: [{conv: {filters: 2, kernel: 5, stride: 2, dilation: 4611686018427387904, padding: same}}]",
        "input: [16777216, 256, 256]\nlayers: [{conv: {filters: 16777216, kernel: 16777216, padding: 8388608}}]",
        "input: [4096, 4096, 64]\nlayers: [flatten, {dense: {units: 16777216}}]",
        "input: [3, 8, 8]\nblocks:\n  b(n): [{conv: {filters: $n * $n * $n, kernel: 1}}]\nlayers: [{b: {n: 3037000500}}]",
    ])
    func absurdSizesAreDiagnosed(_ text: String) {
        #expect(!errorCategories(text).isEmpty)
    }

    @Test func aliasBombIsBoundedNotExpanded() {
        // Nine levels of ten aliases: 10^9 layers if expanded.
        var text = "input: [1, 4, 4]\nlayers:\n  - group:\n      layers: &a0 [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]\n"
        for level in 1...9 {
            let refs = Array(repeating: "{group: {layers: *a\(level - 1)}}", count: 10).joined(separator: ", ")
            text += "  - group:\n      layers: &a\(level) [\(refs)]\n"
        }
        let categories = errorCategories(text)
        #expect(categories.contains("TooLarge"))
    }

    @Test func deepNestingStopsAtTheLimit() {
        let depth = 5_000
        let text = "input: [1, 4, 4]\nlayers: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(errorCategories(text) == ["YAMLSyntax"])
        var groups = "input: [1, 4, 4]\nlayers:\n"
        var indent = "  "
        for _ in 0..<150 {
            groups += "\(indent)- group:\n\(indent)    layers:\n"
            indent += "      "
        }
        groups += "\(indent)- relu\n"
        #expect(errorCategories(groups) == ["YAMLSyntax"])
    }

    @Test func exponentialBlocksAndLongExpressionsStop() {
        // found by fuzzing: blocks that each instantiate the previous one several times, and a 3,000-term sum
        var blocks = "input: [3, 8, 8]\nblocks:\n  b0: [relu]\n"
        for level in 1...40 { blocks += "  b\(level): [b\(level - 1), b\(level - 1), b\(level - 1)]\n" }
        blocks += "layers: [b40]\n"
        #expect(errorCategories(blocks) == ["TooLarge"])
        let sum = Array(repeating: "$p", count: 3_000).joined(separator: " + ")
        #expect(!errorCategories("input: [3, 8, 8]\nblocks:\n  b(p): [conv: {filters: \(sum), kernel: 1}]\nlayers: [b: {p: 1}]").isEmpty)
    }

    @Test func theOneOverflowingQuotientIsADiagnostic() {
        // found by fuzzing: Int.min / −1 and Int.min // −1 trapped in the remainder check
        for op in ["/", "//"] {
            let text = "input: [3, 8, 8]\nlayers:\n  - conv:\n      kernel: 1\n      filters: ${(-9223372036854775807 - 1) \(op) -1}\n"
            #expect(errorCategories(text) == ["Overflow"])
        }
    }

    @Test func nestedEmptyRepeatsStop() {
        // found by fuzzing: a million copies of a million copies of nothing
        let text = "input: [1, 4, 4]\nlayers: [{repeat: {count: 1000000, layers: [{repeat: {count: 1000000, layers: []}}]}}]"
        #expect(errorCategories(text) == ["TooLarge"])
    }

    @Test func hugeRepeatsAndMutualBlocksStop() {
        #expect(errorCategories("input: [1, 4, 4]\nlayers: [{repeat: {count: 1000000000, layers: [relu]}}]") == ["TooLarge"])
        #expect(
            errorCategories(
                """
                input: [1, 4, 4]
                blocks:
                  twice(n): [{repeat: {count: 100, layers: [{thrice: {n: 1}}]}}]
                  thrice(n): [{repeat: {count: 100, layers: [{four: {n: 1}}]}}]
                  four(n): [{repeat: {count: 100, layers: [relu]}}]
                layers: [{repeat: {count: 100, layers: [{twice: {n: 1}}]}}]
                """) == ["TooLarge"])
    }

    @Test(arguments: [
        "just a string", "- a\n- list", "---\n", "# only a comment\n", "\u{FEFF}input: [1, 2, 2]\nlayers: [relu]\nextra: 1",
        "input: [1, 2, 2]\r\nlayers: [relu, {? [a]: b}]\r\n", "input: !!binary aGVsbG8=\nlayers: []",
        "input: [1, 2, 2]\nlayers: [{<<: {relu: {}}}]", "input: [1, 2, 2]\nlayers:\n\t- relu",
        "input: [1, 2, 2]\nlayers: [*undefined]", "{[1]: 2}", "input: [1, 2, 2]\nlayers: [{conv: {filters: ${, kernel: 1}}]",
    ])
    func oddDocumentsAreDiagnosed(_ text: String) {
        #expect(!errorCategories(text).isEmpty)
    }
}
