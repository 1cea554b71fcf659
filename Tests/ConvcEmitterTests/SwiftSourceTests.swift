// The emitter's Swift building blocks: the statement tree and its renderer, folded index expressions, and what
// they guarantee of every emitted file.

@testable import ConvcSwiftEmitter
import ConvcFrontend
import ConvcIR
import ConvcSpecGenerator
import ConvcTestSupport
import Foundation
import Testing

@Suite struct SwiftStatements {
    @Test func blocksAreIndentedAndClosedByTheRenderer() {
        var w = SwiftWriter()
        w.doc("Sums.")
        w.block("func f(_ x: [Int]) -> Int") { w in
            w.line("var sum = 0")
            w.block("for v in x") { w in w.line("sum += v") }
            w.loop("once", count: 1) { w in w.line("sum += 1") }
            w.line("return sum")
        }
        w.line()
        w.block("x.withUnsafeBufferPointer", opening: " { p in") { w in w.comment("two\nlines") }
        #expect(w.text == """
            /// Sums.
            func f(_ x: [Int]) -> Int {
                var sum = 0
                for v in x {
                    sum += v
                }
                sum += 1
                return sum
            }

            x.withUnsafeBufferPointer { p in
                // two lines
            }

            """)
    }

    @Test func aLineKeepsItsBracesBalanced() {
        #expect(isSelfContained("let v = Self.activate(a, { v in tanh(v) })"))
        #expect(isSelfContained("if 0 < filters { Self.store16(a0, to: y, count: count) }"))
        #expect(isSelfContained("throw WeightError(\"a { in a string \\\" } and \\\\\")"))
        #expect(!isSelfContained("for i in 0..<4 {"))
        #expect(!isSelfContained("}"))
        #expect(!isSelfContained("} else {"))
        #expect(!isSelfContained("let a = 1\nlet b = 2"))
        #expect(!isSelfContained("let s = \"unterminated"))
    }
}

@Suite struct IndexExpressions {
    @Test func constantsFoldAsTheIndexIsBuilt() {
        #expect((Index("oh") * 2 + (-1)).description == "oh &* 2 &- 1")
        #expect((Index("i") * 1 + 0).description == "i")
        #expect((Index("top") + Index("i") * 0).description == "top")
        // (c · 1 + i) · 1 + j, an adaptive pool to 1 × 1
        #expect(((Index("c") * 1 + Index("i")) * 1 + Index("j")).description == "c &+ i &+ j")
        // a term times a constant folds; a sum times a constant stays a product (what the optimiser vectorises)
        #expect((Index("c") * 4 * 7 + Index("h") * 7).description == "c &* 28 &+ h &* 7")
        #expect(((Index("c") * 4 + Index("h")) * 7 + Index("col")).description == "(c &* 4 &+ h) &* 7 &+ col")
        #expect(((Index("oh") * 2 - 1) * 896).description == "(oh &* 2 &- 1) &* 896")
        #expect((Index("x") - (Index("y") + Index("z"))).description == "x &- (y &+ z)")
        #expect((Index("q") + Index("q") * 2 - Index("q") * 3).description == "0")
        #expect((Index("ow") * 8 - 0).description == "ow &* 8")
        #expect((Index("q") - Index("row") * 16).description == "q &- row &* 16")
        #expect((Index(3) * 4 + 10_000).description == "10_012")
        #expect((Index("f") * -2).description == "f &* -2")
    }

    @Test func divisionByOneIsTheIndexItself() {
        #expect(Index("q").dividedBy(1).description == "q")
        #expect(Index("q").dividedBy(7).description == "(q / 7)")
        #expect(Index(15).dividedBy(4).description == "3")
        // a sum or a product divides whole: PyTorch's adaptive window end, ceil((i + 1) · 6 / 6)
        #expect(((Index("i") + 1) * 6 + 5).dividedBy(6).description == "(((i &+ 1) &* 6 &+ 5) / 6)")
        #expect((Index("j") * 7).dividedBy(3).description == "((j &* 7) / 3)")
        // an exact division folds: j · 7 / 7 is j (an adaptive pool whose input is as wide as its output)
        #expect((Index("j") * 7).dividedBy(7).description == "j")
        #expect((Index("j") * 14 + 21).dividedBy(7).description == "j &* 2 &+ 3")
        #expect((Index("q") + 2).remainder(5).description == "((q &+ 2) % 5)")
        #expect(Index("block").remainder(1).description == "0")
        #expect((Index("block").dividedBy(1) * 4 + Index("block").remainder(1) * 4).description == "block &* 4")
        // A flat pixel's place in a map 7 wide whose rows are 9 apart: q + (q / 7) · 2; rows as wide: q itself
        #expect(pixelOffset("q", width: 7, rowStride: 9, columnStride: 1) == "q &+ (q / 7) &* 2")
        #expect(pixelOffset("q", width: 7, rowStride: 7, columnStride: 1) == "q")
        #expect(pixelOffset("q", width: 7, rowStride: 8, columnStride: 1) == "q &+ (q / 7)")
        #expect(pixelOffset("q", width: 1, rowStride: 1, columnStride: 2) == "q")
    }

    @Test func aPointerPlusAnIndexParenthesisesSums() {
        #expect(plus(Index(0)) == "")
        #expect(plus(Index("ic") * 64) == " + ic &* 64")
        #expect(plus(Index("tapOffset") + Index("ic") * 4) == " + (tapOffset &+ ic &* 4)")
        #expect(plus(Index("oh") - 1) == " + (oh &- 1)")
    }
}

/// The lines of emitted code (comments dropped) that hold an unfolded index: a product by one or zero, a sum with
/// zero or a negative constant, a division by one.
func unfoldedLines(_ source: String) -> [Substring] {
    let unfoldedIndex = /(&\* 1|&[+-] 0|[^&.] \+ 0|\/ 1|% 1|&\* 0|&\+ -)(?![0-9._])/
    return source.split(separator: "\n").filter { line in
        let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return code.contains(unfoldedIndex)
    }
}

@Suite struct EmittedIndices {
    @Test(arguments: EmitTarget.allCases)
    func referenceNetworksHaveNoUnfoldedIndex(_ target: EmitTarget) throws {
        for name in specNames {
            let source = emitSwift(try loadModel(name), options: EmitOptions(sourcePath: "specs/\(name).yaml", target: target))
            #expect(unfoldedLines(source).isEmpty, "\(name) (\(target)): \(unfoldedLines(source).prefix(3))")
        }
    }

    /// Random specs reach kernels and shapes the reference networks do not (1×1 maps, one channel per group).
    @Test(arguments: EmitTarget.allCases)
    func randomSpecsHaveNoUnfoldedIndex(_ target: EmitTarget) throws {
        var generator = SpecGenerator(seed: 2027)
        var emitted = 0
        for _ in 0..<120 {
            let spec = generator.next()
            let (model, engine) = compileSpec(spec.yaml, file: spec.name + ".yaml")
            guard let model, !engine.hasErrors else { continue }
            let source = emitSwift(model, options: EmitOptions(sourcePath: spec.name + ".yaml", target: target))
            emitted += 1
            #expect(unfoldedLines(source).isEmpty, "\(spec.name) (\(target)): \(unfoldedLines(source).prefix(3))")
        }
        #expect(emitted > 100)
    }
}
