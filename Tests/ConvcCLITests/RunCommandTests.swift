// `convc init`, `run`, `bench` and `export` end to end, with their errors.

import Foundation
import Testing

/// A new folder in the temporary directory, for one test.
func temporaryFolder(_ prefix: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A class, so each test's folder goes away with it.
@Suite final class RunCommands {
    let work = temporaryFolder("convc-cli")

    deinit { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    @Test func initThenRunPrintsTheTopClassesAndWritesTheOutput() throws {
        let initRun = try convc("init", "specs/lenet5.yaml", "-o", path("w.safetensors"), "--seed", "3")
        #expect(initRun.status == 0)
        #expect(initRun.stdout == "\(path("w.safetensors")): 10 tensors, 61,706 values (seed 3)\n")
        let run = try convc("run", "specs/lenet5.yaml", "--weights", path("w.safetensors"), "-o", path("y.npy"), "--top", "3")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first == "output: 1×10")
        #expect(lines.count == 3 && lines[1].hasPrefix("top 3: "))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("y.npy")))
        #expect(bytes.count == 128 + 40)
        // The same weights and seed give the same output, byte for byte.
        let again = try convc("run", "specs/lenet5.yaml", "--weights", path("w.safetensors"), "--top", "3")
        #expect(again.stdout.split(separator: "\n")[1] == lines[1])
    }

    @Test func aMissingTensorIsOneMessageNamingTheFile() throws {
        _ = try convc("init", "specs/lenet5.yaml", "-o", path("lenet.safetensors"))
        let run = try convc("run", "specs/alexnet.yaml", "--weights", path("lenet.safetensors"))
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("convc: error: \(path("lenet.safetensors")): missing tensor 'features.0.weight' [64, 3, 11, 11] (and 15 more)"))
        #expect(run.stdout.isEmpty)
    }

    @Test func aDamagedWeightsFileOrInputIsOneMessage() throws {
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path("bad.safetensors")))
        let run = try convc("run", "specs/lenet5.yaml", "--weights", path("bad.safetensors"))
        #expect(run.status == 1)
        #expect(run.stderr == "convc: error: \(path("bad.safetensors")): the file is 3 bytes long; a safetensors file starts with an 8-byte header length\n")
        _ = try convc("init", "specs/lenet5.yaml", "-o", path("ok.safetensors"))
        try Data("not numpy".utf8).write(to: URL(fileURLWithPath: path("x.npy")))
        let input = try convc("run", "specs/lenet5.yaml", "--weights", path("ok.safetensors"), "--input", path("x.npy"))
        #expect(input.status == 1)
        #expect(input.stderr == "convc: error: \(path("x.npy")): not a .npy file (it does not start with \\x93NUMPY)\n")
    }

    @Test func aFailedRunLeavesAnExistingOutputUntouched() throws {
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path("keep.npy")))
        let run = try convc("run", "specs/lenet5.yaml", "--weights", path("absent.safetensors"), "-o", path("keep.npy"))
        #expect(run.status == 1)
        #expect(try String(contentsOfFile: path("keep.npy"), encoding: .utf8) == "keep me")
    }

    @Test func exportListsOpsAttributesAndParameterNames() throws {
        let run = try convc("export", "specs/lenet5.yaml")
        #expect(run.status == 0)
        let graph = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let layers = try #require(graph["layers"] as? [[String: Any]])
        #expect(layers.count == 13)
        let conv1 = layers[1]
        #expect(conv1["op"] as? String == "conv")
        let attributes = try #require(conv1["attributes"] as? [String: Any])
        #expect(attributes["kernel"] as? [Int] == [5, 5])
        #expect(attributes["padding"] as? [Int] == [0, 0, 0, 0])
        let parameters = try #require(conv1["parameters"] as? [[String: Any]])
        #expect(parameters.map { $0["name"] as? String } == ["conv1.weight", "conv1.bias"])
    }

    @Test func benchReportsLatencyAndThroughput() throws {
        let run = try convc("bench", "specs/lenet5.yaml", "--runs", "3", "--threads", "1")
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("lenet5: median "))
        #expect(run.stdout.contains("GFLOP/s, 1 thread"))
    }
}

@Suite struct EmitCommands {
    /// A spec of Tests/Fixtures/differential, which the differential tests also compile and compare with the
    /// interpreter on both targets.
    func fixture(_ name: String) -> URL { URL(fileURLWithPath: "Tests/Fixtures/differential/\(name).yaml") }

    @Test func emitWritesADeterministicStandaloneFile() throws {
        let first = try convc("emit", "specs/lenet5.yaml")
        let second = try convc("emit", "specs/lenet5.yaml", "--type-name", "LeNet", "--access", "internal")
        #expect(first.status == 0 && second.status == 0)
        #expect(first.stdout.hasPrefix("// DO NOT EDIT. Generated by convc from specs/lenet5.yaml.\n"))
        #expect(first.stdout.contains("public struct Lenet5: Sendable {"))
        #expect(second.stdout.contains("\nstruct LeNet: Sendable {"))
        #expect(try convc("emit", "specs/lenet5.yaml").stdout == first.stdout)
        #expect(!first.stdout.contains("/work/") && !first.stdout.contains("/tmp/"))
        #expect(try convc("emit", "specs/lenet5.yaml", "--type-name", "1bad").status == 64)
    }

    @Test func layerPathsThatSpellTheSameIdentifierGetDistinctFunctions() throws {
        let spec = fixture("clash")
        let source = try convc("emit", spec.path).stdout
        #expect(source.contains("static func a_b(") && source.contains("static func a_b_2("))
    }

    @Test func emitPlanPrintsEachStepsKernel() throws {
        let result = try convc("emit", "specs/resnet18.yaml", "--plan")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        // conv1, the max pool, 16 convs in 8 blocks, 3 projections, the pool and the classifier; the second block of
        // the first stage calls the first block's functions
        #expect(lines.first?.hasPrefix("resnet18 for avx2 (16 registers of 8 floats): 23 steps, 21 functions, ") == true)
        #expect(lines.contains("layer1.0.conv1 Winograd F(2×2, 3×3): 28×28 tiles in bands of 16 tile rows NCHW → NCHW batch norm, relu 1,244,416"))
        #expect(lines.contains { $0.hasPrefix("layer1.1.conv2 as layer1.0.conv2 NCHW → NCHW batch norm, residual, relu") })
        #expect(lines.contains { $0.hasPrefix("layer4.0.downsample.0 pixel groups: 32 channels × 3 pixels, input channels in chunks of 64, subsampled copy 7×7, 17 groups per band, residual in a vector pass") })
        let wide = try convc("emit", "specs/resnet18.yaml", "--plan", "--target", "avx512").stdout
        #expect(wide.contains("channel vectors: 32 channels × 14 pixels"))
    }

    @Test func layersWithTheSameShapesShareOneFunction() throws {
        let spec = fixture("share")
        let source = try convc("emit", spec.path).stdout
        #expect(source.contains("static func first(") && !source.contains("static func second("))
        #expect(source.contains("/// Also runs second (the same shapes and fusions)."))
        // first's weights: 2 filters padded to a block of 4 × 2 channels × 9 taps + 4 biases = 76 floats, and the
        // next layer's start on the next 64-byte line
        #expect(source.contains("Self.first(x, w, firstOut") && source.contains("Self.first(firstOut, w + 80, secondOut"))
        // predict names each buffer where it is first written, and says whose function a layer runs
        #expect(source.contains("let firstOut = a  // 2×8×8\n"))
        #expect(source.contains("// second (first's function)\n"))
        #expect(source.contains("static func third("))
    }

    /// One conv of each kernel either target picks (pixel vectors flat and phased, pixel groups plain and in
    /// chunks with a fused residual, Winograd on an odd map, channel vectors, 1×1 pixel tiles, stride 3,
    /// depthwise), compiled and checked against the interpreter for both register files.
    @Test(arguments: ["avx2", "avx512"])
    func everyKernelAgreesWithTheInterpreter(target: String) throws {
        let spec = fixture("kernels")
        let source = try convc("emit", spec.path, "--target", target).stdout
        // A name that cannot sit in a text table (a space, quotes, a line break) goes into array literals, escaped.
        #expect(source.contains(#"("fc \"last\"\n#1", "dense", [10], 330),"#))
        #expect(source.contains(#"("fc \"last\"\n#1.weight", [10, 32]),"#))
        let tiles = source.split(separator: "\n").filter { $0.contains("// tile: ") || $0.contains("// Winograd") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if target == "avx2" {
            #expect(tiles == [
                "// tile: 4 filters × 3 vectors of 8 positions",
                "// tile: 16 channels (2 vectors) × 6 output pixels, each input value broadcast",
                "// Winograd F(2×2, 3×3): 8×8 tiles in bands of 8 tile rows; products: 16 filters × 6 tiles, each transformed input broadcast",
                "// tile: 4 filters × 3 vectors of 8 pixels",
                "// tile: 4 filters × 3 vectors of 8 pixels",
                "// tile: 16 channels (2 vectors) × 6 output pixels, each input value broadcast; input channels in chunks of 16",
                "// tile: 16 channels (2 vectors) × 6 output pixels, each input value broadcast; input channels in chunks of 16",
                // deepen → wide → the global pool run NCHWc (see nchwcChainsAgreeWithTheInterpreter)
                "// tile: 16 channels (2 vectors) × 5 output pixels, each input value broadcast",
                "// tile: 16 channels (2 vectors) × 5 output pixels, each input value broadcast",
            ])
        } else {
            #expect(tiles == [
                "// tile: 8 filters × 2 vectors of 16 positions",
                "// tile: 32 channels × 4 pixels of an output row, sixteen channels to a vector",
                "// tile: 32 channels × 8 pixels of an output row, sixteen channels to a vector",
                "// tile: 8 filters × 2 vectors of 16 pixels",
                "// tile: 32 channels × 13 pixels of an output row, sixteen channels to a vector",
                "// tile: 32 channels × 5 pixels of an output row, sixteen channels to a vector",
                "// tile: 32 channels × 5 pixels of an output row, sixteen channels to a vector",
                "// tile: 32 channels × 13 pixels of an output row, sixteen channels to a vector",
                "// tile: 32 channels × 13 pixels of an output row, sixteen channels to a vector",
            ])
        }
    }

    /// MobileNet-like chains in the NCHWc layout: a strided stem writing NCHWc, depthwise convs (stride 1 and 2, a
    /// 2×3 kernel with stride 3 and uneven padding, maps whose interior is one column), 1×1 convs (on 7×7 maps in
    /// groups of five pixels, reading NCHWc and writing NCHW for a max pool, reading NCHW in chunks and writing
    /// NCHWc), and a global average pool.
    @Test func nchwcChainsAgreeWithTheInterpreter() throws {
        let spec = fixture("chains")
        let source = try convc("emit", spec.path).stdout
        let lines = source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("// x: ") } == [
            "// x: 3×28×28   y: 16×14×14 NCHWc",
            "// x: 16×14×14 NCHWc   y: 16×14×14 NCHWc",
            "// x: 16×14×14 NCHWc   y: 32×14×14 NCHWc",
            "// x: 32×14×14 NCHWc   y: 32×7×7 NCHWc",
            "// x: 32×7×7 NCHWc   y: 128×7×7 NCHWc",
            "// x: 128×7×7 NCHWc   y: 128×7×3 NCHWc",
            "// x: 128×7×3 NCHWc   y: 128×7×3",
            "// x: 128×7×3   y: 128×3×3",
            "// x: 128×3×3   y: 32×3×3 NCHWc",
            "// x: 32×3×3 NCHWc   y: 32×3×3 NCHWc",
            "// x: 32×3×3 NCHWc   y: 48×3×3 NCHWc",
            "// x: 48×3×3 NCHWc   y: 48×1×1",
            "// x: 48   y: 10",
        ])
        // 7×7 and 3×3 maps take groups of five pixels (50 computed for 49, not 54); only an NCHW input is chunked
        let group = "// tile: 16 channels (2 vectors) × "
        #expect(lines.filter { $0.hasPrefix("// tile: ") } == [
            group + "6 output pixels, each input value broadcast",
            group + "6 output pixels, each input value broadcast",
            group + "5 output pixels, each input value broadcast",
            group + "6 output pixels, each input value broadcast",
            group + "5 output pixels, each input value broadcast; input channels in chunks of 64",
            group + "5 output pixels, each input value broadcast",
        ])
        // depthwise weights go to (channels / 8, taps, 8) at load time
        #expect(source.contains("Self.interleaveTaps(&p, at: 5696, channels: 128, taps: 6)"))
        // AVX-512's sixteen-lane tiles keep NCHW
        let wide = try convc("emit", spec.path, "--target", "avx512").stdout.split(separator: "\n").filter { $0.contains("// x: ") }
        #expect(wide.count == 13 && !wide.contains { $0.contains("NCHWc") })
    }

    /// NCHWc at the edges: Winograd's output on a map of odd width; depthwise convs with a 1×1 kernel whose rows
    /// and columns are all padding, stride 2 without padding, stride 3 on a map it does not divide, a 3×2 kernel
    /// with uneven padding, a 2×2 one without.
    @Test func nchwcEdgesAgreeWithTheInterpreter() throws {
        let spec = fixture("edges")
        let source = try convc("emit", spec.path).stdout
        let layouts = source.split(separator: "\n").filter { $0.contains("// x: ") }
        #expect(layouts.filter { $0.hasSuffix("NCHWc") }.count == 8)
        #expect(source.contains("Winograd F(2×2, 3×3): 15×16 tiles"))
    }

    @Test(arguments: ["avx2", "avx512"])
    func layersNamedAfterKeywordsAndCalledFunctionsCompileAndAgree(target: String) throws {
        let spec = "Tests/Fixtures/differential/reserved_names.yaml"
        let source = try convc("emit", spec, "--target", target).stdout
        #expect(source.contains("public struct FloatModel: Sendable"))
        for name in ["for_layer", "tanh_layer", "exp_layer", "self_layer", "Float_layer"] {
            #expect(source.contains("static func \(name)("), "\(name)")
        }
        let refused = try convc("emit", spec, "--type-name", "Float")
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--type-name 'Float' is a Swift keyword or a name the emitted code uses"))
    }

    @Test func verifyCompilesRunsAndAgrees() throws {
        let run = try convc("verify", "specs/lenet5.yaml", "--runs", "1")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasSuffix("agree\n"))
        #expect(run.stdout.contains("0 of 10 outputs beyond 1e-4"))
    }

    @Test func verifyReportsACompilerFailure() throws {
        let run = try convc("verify", "specs/lenet5.yaml", "--swiftc", "false")
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("convc: error: the emitted Swift for 'specs/lenet5.yaml' does not compile:"))
    }
}
