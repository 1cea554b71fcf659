// `convc init`, `run`, `bench` and `export` end to end, with their errors.

import Foundation
import Testing

@Suite struct RunCommands {
    let work: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("convc-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

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
