// The kind table (ConvcIR's `LayerKind`), the frontend's schema and the layer table in docs/spec-language.md agree.

import ConvcFrontend
import ConvcIR
import Foundation
import Testing

@Suite struct LayerKindTable {
    static let documentation = try! String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/spec-language.md"),
        encoding: .utf8)

    /// The rows of the "Layer kinds" table: each row's kinds and the keys its second column names.
    static func documentedRows() -> [(kinds: [String], keys: [String])] {
        let section = documentation.components(separatedBy: "## Layer kinds")[1].components(separatedBy: "\n## ")[0]
        return section.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map { String($0) }
            return (backticked(columns[1]), topLevelItems(columns[2]).compactMap { backticked($0).first })
        }
    }

    /// The names in backticks, in order.
    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    /// The comma-separated items outside parentheses and brackets.
    static func topLevelItems(_ text: String) -> [String] {
        var items: [String] = [], current = "", depth = 0
        for character in text {
            switch character {
            case "(", "[": depth += 1
            case ")", "]": depth -= 1
            case "," where depth == 0:
                items.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        return items + [current]
    }

    @Test func everyKindIsDocumentedOnceAndEveryDocumentedKindExists() {
        let tableKinds = Self.documentedRows().flatMap(\.kinds)
        let structureSection = Self.documentation.components(separatedBy: "## Structure")[1]
            .components(separatedBy: "\n## ")[0]
        let structureKinds = structureSection.split(separator: "\n").filter { $0.hasPrefix("### ") }
            .map { String($0.dropFirst(4)) }
        let documented = tableKinds + structureKinds
        #expect(documented.count == Set(documented).count, "documented twice: \(documented)")
        #expect(Set(documented) == Set(LayerKind.allCases.map(\.spelling)))
        // Structures have their own sections, leaves their table rows.
        #expect(Set(structureKinds) == Set(LayerKind.allCases.filter { $0.structure != .leaf }.map(\.spelling)))
    }

    @Test func theTableListsEachKindsKeys() {
        for row in Self.documentedRows() {
            for kind in row.kinds {
                let schema = LayerSchema.byName[kind]
                let common = Set(LayerSchema.commonKeys.map(\.name))
                let own = (schema?.keys.map(\.name) ?? []).filter { !common.contains($0) }
                #expect(Set(row.keys) == Set(own), "\(kind): documented \(row.keys), schema \(own)")
            }
        }
    }

    @Test func theSchemaFollowsTheKindTable() throws {
        #expect(LayerSchema.kinds.map(\.kind) == LayerKind.allCases)
        #expect(LayerSchema.kinds.allSatisfy { $0.structure == $0.kind.structure })
        // `activation:` accepts exactly the activation kinds.
        #expect(LayerKind.activations.map(\.spelling) == ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu"])
        for kind in LayerKind.activations {
            let op = Op.activation(try #require(Activation(kind)))
            #expect(op.layerKind == kind)
            #expect(op.kindName == kind.spelling)
        }
    }

    @Test func everyActivationIsAcceptedOnAConvAndRoundTrips() throws {
        for kind in LayerKind.activations {
            let m = try compileModel(
                """
                model: a
                input: [3, 8, 8]
                layers:
                  - conv: { filters: 4, kernel: 3, activation: \(kind.spelling) }
                """)
            guard case .conv(let conv) = m.layers[1].op else {
                Issue.record("not a conv")
                continue
            }
            #expect(conv.activation?.layerKind == kind)
        }
    }
}
