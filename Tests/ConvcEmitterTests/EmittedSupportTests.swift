// The helpers every emitted file carries, tested as compiled Swift (Sources/ConvcEmittedSupport), and the copy of
// them the emitter embeds.

@testable import ConvcEmittedSupport
import ConvcFrontend
import ConvcSwiftEmitter
import ConvcTensorIO
import ConvcTestSupport
import Foundation
import Testing

@Suite struct EmittedSupportHelpers {
    @Test func theEmbeddedSupportIsTheCompiledSource() throws {
        let written = FileManager.default.temporaryDirectory.appendingPathComponent("embedded-\(UUID().uuidString).swift")
        defer { try? FileManager.default.removeItem(at: written) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", packageRoot.appendingPathComponent("tools/embed_support.sh").path, written.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let committed = try String(
            contentsOf: packageRoot.appendingPathComponent("Sources/ConvcSwiftEmitter/embeddedSupport.swift"), encoding: .utf8)
        #expect(try String(contentsOf: written, encoding: .utf8) == committed, "run tools/embed_support.sh")
    }

    @Test func dotProductsSumEveryTerm() {
        // 1·1 + 2·2 + … + 37·37 = 37·38·75 / 6 = 17,575; rows of dot4 are 1, 2, 3, 4 times that
        let a = (1...148).map(Float.init), b = (1...37).map(Float.init)
        let rows: [Float] = (0..<4).flatMap { row in (1...37).map { Float($0 * (row + 1)) } }
        #expect(EmittedSupport.dot(a, b, count: 37) == 17_575)
        #expect(EmittedSupport.dot4(rows, stride: 37, b, count: 37) == SIMD4(17_575, 35_150, 52_725, 70_300))
        #expect(EmittedSupport.dot(a, b, count: 0) == 0)
    }

    @Test func parallelRunsEveryIndexOnce() {
        for threads in [1, 2, 3] {
            let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 37)
            counts.initialize(repeating: 0)
            defer { counts.deallocate() }
            let shared = EmittedSupport.Unchecked(value: counts)
            EmittedSupport.parallel(37, threads: threads) { part in
                for i in part { shared.value[i] += 1 }
            }
            #expect(counts.allSatisfy { $0 == 1 }, "\(threads) threads")
        }
    }

    @Test func padSurroundsEachChannelWithZeros() {
        // two 2×2 channels at (1, 1) of 3×4 planes
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        var s = [Float](repeating: -1, count: 24)
        EmittedSupport.pad(x, channels: 2, height: 2, width: 2, top: 1, left: 1, rows: 3, columns: 4, into: &s)
        #expect(s == [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0] + [0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0])
    }

    @Test func padPhasesSplitsEvenAndOddRowsAndColumns() {
        // a 3×3 image padded by 1 is 5×5 (rows and columns 0…4, taken as 3 × 3 per phase); padded (r, c) goes to
        // phase (r % 2, c % 2) at (r / 2, c / 2)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var s = [Float](repeating: -1, count: 4 * 9)
        EmittedSupport.padPhases(x, channels: 1, height: 3, width: 3, top: 1, left: 1, rows: 3, columns: 3, into: &s)
        let evenRowsEvenColumns: [Float] = [0, 0, 0, 0, 5, 0, 0, 0, 0]  // padded (2, 2) is x(1, 1)
        let evenRowsOddColumns: [Float] = [0, 0, 0, 4, 6, 0, 0, 0, 0]  // (2, 1), (2, 3)
        let oddRowsEvenColumns: [Float] = [0, 2, 0, 0, 8, 0, 0, 0, 0]  // (1, 2), (3, 2)
        let oddRowsOddColumns: [Float] = [1, 3, 0, 7, 9, 0, 0, 0, 0]  // (1, 1), (1, 3), (3, 1), (3, 3)
        #expect(s == evenRowsEvenColumns + evenRowsOddColumns + oddRowsEvenColumns + oddRowsOddColumns)
    }

    @Test func subsampleKeepsEveryStridethPixel() {
        // 4×5, stride (2, 2): rows 0 and 2, columns 0, 2, 4; a third output row of zeros
        let x = (0..<20).map(Float.init)
        var s = [Float](repeating: -1, count: 9)
        EmittedSupport.subsample(x, channels: 1, height: 4, width: 5, stride: (2, 2), rows: 3, outputHeight: 2, outputWidth: 3, into: &s, threads: 1)
        #expect(s == [0, 2, 4, 10, 12, 14, 0, 0, 0])
    }

    @Test func winogradFiltersAreGgGTransposed() {
        // g = all ones: G·(1, 1, 1) = (1, 3/2, 1/2, 1), so U = u uᵀ with u = (1, 1.5, 0.5, 1); one filter and
        // channel in a block of 16 filters, each value's 16 filters apart; the slot holds 16 values a weight
        var p = [Float](repeating: 1, count: 9) + [Float](repeating: 0, count: 16 * 16 - 9)
        EmittedSupport.winogradFilters(&p, at: 0, filters: 16, channels: 1)
        let u: [Float] = [1, 1.5, 0.5, 1]
        #expect((0..<16).map { p[$0 * 16] } == u.flatMap { a in u.map { a * $0 } })
        #expect((0..<16).allSatisfy { value in (1..<16).allSatisfy { p[value * 16 + $0] == 0 } })
    }

    @Test func weightLayoutsPutOneLoadsWeightsTogether() {
        // interleaveTaps: (16 channels, 2 taps) → (2, 2, 8); channel c, tap t holds 10c + t
        var taps = (0..<16).flatMap { c in [Float(10 * c), Float(10 * c + 1)] }
        EmittedSupport.interleaveTaps(&taps, at: 0, channels: 16, taps: 2)
        let firstTaps: [Float] = (0..<8).map { Float(10 * $0) }, secondTaps: [Float] = firstTaps.map { $0 + 1 }
        #expect(Array(taps[0..<8]) == firstTaps)
        #expect(Array(taps[8..<16]) == secondTaps)
        #expect(taps[16] == 80)
        // blockFilters: 3 filters of 2 channels × 1 tap in blocks of 2 → (2 blocks, 1, 2, 2), the last block's
        // second filter zero; filter f, channel c holds 10f + c
        var blocked: [Float] = [0, 1, 10, 11, 20, 21, 0, 0]
        EmittedSupport.blockFilters(&blocked, at: 0, filters: 3, groups: 1, channels: 2, taps: 1, block: 2)
        #expect(blocked == [0, 10, 1, 11, 20, 0, 21, 0])
    }

    @Test func reluAndRelu6KeepNaNAsPyTorchDoes() {
        let v = SIMD8<Float>(-1, 0, 3, 7, .nan, -0.5, 6, 100)
        let relu = EmittedSupport.relu(v), relu6 = EmittedSupport.relu6(v)
        #expect(relu[0] == 0 && relu[2] == 3 && relu[7] == 100 && relu[4].isNaN)
        #expect(relu6[3] == 6 && relu6[6] == 6 && relu6[5] == 0 && relu6[4].isNaN)
        // hardswish(x) = x · relu6(x + 3) / 6: 0 from −3 down, x from 3 up, −1 · 2 / 6 at −1; hardsigmoid the gate / 6
        let gated = SIMD8<Float>(-4, -3, -1, 0, 1.5, 3, 7, .nan)
        let swish = EmittedSupport.hardswish(gated), sigmoid = EmittedSupport.hardsigmoid(gated)
        let (third, threeQuarters): (Float, Float) = (-2 / 6, 1.5 * 4.5 / 6)
        let expectedSwish: [Float] = [0, 0, third, 0, threeQuarters, 3, 7]
        let expectedSigmoid: [Float] = [0, 0, 2 / 6, 0.5, 4.5 / 6, 1, 1]
        #expect((0..<7).map { swish[$0] } == expectedSwish && swish[7].isNaN)
        #expect((0..<7).map { sigmoid[$0] } == expectedSigmoid && sigmoid[7].isNaN)
        let maximum = EmittedSupport.maximum(SIMD16(repeating: 1), SIMD16(repeating: .nan))
        #expect(maximum[0].isNaN)
    }

    @Test func vectorExponentialIsWithinTwoUlpsAndSaturates() {
        // Foundation's expf as the reference, from −87 to 88 in steps that hit every reduction interval.
        var worst: Float = 0
        for start in stride(from: Float(-87), to: 88, by: 0.37 * 16) {
            let x = SIMD16<Float>((0..<16).map { start + Float($0) * 0.37 })
            let e = EmittedSupport.exponential(x), narrow = EmittedSupport.exponential(SIMD8(x.lowHalf))
            for lane in 0..<16 where x[lane] < 88 {
                let reference = Foundation.exp(x[lane])
                worst = max(worst, abs(e[lane] - reference) / reference.ulp)
                if lane < 8 { #expect(narrow[lane] == e[lane]) }
            }
        }
        #expect(worst <= 2)
        // Saturated ends, NaN kept; sigmoid and SiLU from it.
        let ends = EmittedSupport.exponential(SIMD8<Float>(-200, 200, .nan, 0, 1, -1, 0.5, 2))
        #expect(ends[0] < 1e-37 && ends[1] > 1e38 && ends[2].isNaN && ends[3] == 1)
        let v = SIMD8<Float>(0, 2, -2, -200, 200, .nan, 1, -1)
        let sigmoid = EmittedSupport.sigmoid(v), silu = EmittedSupport.silu(v)
        #expect(sigmoid[0] == 0.5 && abs(sigmoid[1] - 0.880797) < 1e-6 && abs(sigmoid[2] - 0.119203) < 1e-6)
        #expect(sigmoid[3] < 1e-37 && sigmoid[4] == 1 && sigmoid[5].isNaN)
        #expect(silu[0] == 0 && abs(silu[6] - 0.731059) < 1e-6 && abs(silu[7] + 0.268941) < 1e-6)
        #expect(abs(silu[3]) < 1e-30 && silu[4] == 200 && silu[5].isNaN)
    }

    @Test func batchNormFoldsIntoTheWeightsBefore() throws {
        // γ = 2, β = 1, mean = 3, var = 3 (ε = 1): scale 2 / √4 = 1, shift 1 − 3 = −2
        let tensors: [String: [Float]] = ["bn.weight": [2], "bn.bias": [1], "bn.running_mean": [3], "bn.running_var": [3]]
        var p: [Float] = [4, 5, 0.5]  // weights 4, 5; bias 0.5
        try EmittedSupport.foldBatchNorm(tensors, "bn", epsilon: 1, into: &p, weight: 0, bias: 2, channels: 1, blocks: 1, blockStride: 0, channelStride: 2, run: 2)
        #expect(p == [4, 5, -1.5])
        #expect(throws: EmittedSupport.WeightError.self) { try EmittedSupport.tensor(tensors, "bn.weight", count: 2) }
    }

    @Test func tablesParseKindsWithSpaces() {
        let rows = EmittedSupport.layerTable("dw   conv (depthwise) 32×112×112 288\nfc   dense            10          330")
        #expect(rows.map(\.name) == ["dw", "fc"] && rows.map(\.kind) == ["conv (depthwise)", "dense"])
        #expect(rows.map(\.outputShape) == [[32, 112, 112], [10]] && rows.map(\.parameters) == [288, 330])
    }

    @Test func alignedFloatsStartOnCacheLinesZeroed() {
        for count in [1, 1000, 600_000] {
            let buffer = EmittedSupport.AlignedFloats(count: count)
            #expect(UInt(bitPattern: buffer.pointer) % (count * 4 >= 2 << 20 ? 2 << 20 : 64) == 0, "\(count)")
            #expect(buffer.count == count && buffer.pointer[0] == 0 && buffer.pointer[count - 1] == 0)
        }
        let copy = EmittedSupport.AlignedFloats(copying: [1, 2, 3])
        #expect(Array(UnsafeBufferPointer(start: copy.pointer, count: 3)) == [1, 2, 3])
    }

    @Test func anUnoptimisedBuildSaysSo() throws {
        // The test build is unoptimised, so its advice names the type and says how to build it.
        let advice = try #require(EmittedSupport.buildAdvice)
        #expect(advice.hasPrefix("EmittedSupport: it was compiled without optimisation"), "\(advice)")
    }

    @Test func safetensorsAreReadByNameWithAnOptionalPrefix() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("support-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(SafeTensors.serialize([
            (name: "module.fc.weight", tensor: StoredTensor(shape: [2, 2], values: [1, 2, 3, 4])),
            (name: "module.fc.bias", tensor: StoredTensor(shape: [2], values: [5, 6])),
        ])).write(to: file)
        let shapes = [(name: "fc.weight", shape: [2, 2]), (name: "fc.bias", shape: [2])]
        let tensors = try EmittedSupport.readSafetensors(file, prefix: nil, checking: shapes)
        #expect(tensors["fc.weight"] == [1, 2, 3, 4] && tensors["fc.bias"] == [5, 6])
        #expect(throws: EmittedSupport.WeightError.self) {
            try EmittedSupport.readSafetensors(URL(fileURLWithPath: "/dev/null"), prefix: nil, checking: shapes)
        }
    }
}

@Suite struct SupportSelection {
    func emitted(_ spec: String) throws -> String {
        let (model, diagnostics) = compileSpec(spec, file: "snippet.yaml")
        #expect(!diagnostics.hasErrors)
        return emitSwift(try #require(model), options: EmitOptions(sourcePath: "snippet.yaml"))
    }

    @Test func aFileCarriesOnlyTheHelpersItsCodeCalls() throws {
        // A relu calls no kernel helper; its file still loads weights files and allocates aligned arenas.
        let relu = try emitted("input: [4]\nlayers: [relu]\n")
        for used in ["struct WeightError", "class AlignedFloats", "static func readSafetensors", "struct SafetensorsLayout", "static var buildAdvice"] {
            #expect(relu.contains(used), "\(used)")
        }
        for unused in ["static func winogradFilters", "static func padPhases", "static func dot4", "static func multiplyAdd", "static func foldBatchNorm"] {
            #expect(!relu.contains(unused), "\(unused)")
        }
        // A padded 3×3 conv of 32 channels to 16 filters and a batch norm: Winograd's weight transform, the padded copy, the
        // fold, and the multiply-adds and vector loads they call.
        let conv = try emitted("input: [32, 12, 12]\nlayers:\n  - conv: { filters: 16, kernel: 3, padding: 1, bias: false }\n  - batch_norm\n")
        for used in ["static func winogradFilters", "static func pad(", "static func foldBatchNorm", "static func batchNormFactors", "static func multiplyAdd", "static func load8"] {
            #expect(conv.contains(used), "\(used)")
        }
        #expect(!conv.contains("static func padPhases") && !conv.contains("static func interleaveTaps"))
    }
}
