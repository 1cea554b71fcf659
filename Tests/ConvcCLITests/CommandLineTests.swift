// Runs the built `convc` executable and checks stdout, stderr and the exit status (0 / 1 / 64).

import Foundation
import Testing

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `convc` built next to this test bundle.
let convcExecutable: URL = {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("convc")
    if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
    return packageRoot.appendingPathComponent(".build/debug/convc")
}()

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

func convc(_ arguments: String...) throws -> Run { try convc(arguments) }

let brokenSpecs: [String] = {
    let folder = packageRoot.appendingPathComponent("specs/broken")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted()
}()

@Suite struct CommandLineInterface {
    @Test func checkPrintsTheTotalsOfASoundSpec() throws {
        let run = try convc("check", "specs/vgg16.yaml")
        #expect(run.status == 0)
        #expect(
            run.stdout
                == "specs/vgg16.yaml: vgg16: 3×224×224 → 1000, 138,357,544 params, 15,470,264,320 MACs, 40 layers\n")
        #expect(run.stderr.isEmpty)
    }

    @Test func everyReferenceSpecChecksCleanUnderStrict() throws {
        let specs = try FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("specs").path
        )
        .filter { $0.hasSuffix(".yaml") }.sorted().map { "specs/" + $0 }
        #expect(specs.count == 28)
        let run = try convc(["check", "--strict", "--quiet"] + specs)
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty && run.stderr.isEmpty, "\(run.stderr)")
    }

    @Test(arguments: brokenSpecs)
    func brokenSpecGivesItsExpectedDiagnostics(_ name: String) throws {
        let run = try convc("check", "specs/broken/" + name)
        let expectedURL = packageRoot.appendingPathComponent(
            "specs/broken/" + name.replacingOccurrences(of: ".yaml", with: ".expected"))
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(run.stderr == expected)
        #expect(run.status == (name.hasPrefix("warning_") ? 0 : 1))
    }

    @Test func usageErrorsExitWith64() throws {
        #expect(try convc("check").status == 64)
        #expect(try convc("summary", "specs/lenet5.yaml", "--format", "xml").status == 64)
        #expect(try convc("summary", "specs/lenet5.yaml", "--depth", "0").status == 64)
        #expect(try convc("frobnicate").status == 64)
    }

    @Test func aMissingFileIsOneClearError() throws {
        let run = try convc("check", "specs/nope.yaml")
        #expect(run.status == 1)
        #expect(run.stderr == "convc: error: cannot read 'specs/nope.yaml': no such file\n")
    }

    @Test func summaryFormats() throws {
        let json = try convc("summary", "specs/lenet5.yaml", "--format", "json")
        #expect(json.status == 0)
        #expect(json.stdout.hasPrefix("{\n  \"model\": \"lenet5\",\n  \"input_shape\": [1, 32, 32],"))
        let csv = try convc("summary", "specs/lenet5.yaml", "--format", "csv")
        #expect(csv.stdout.split(separator: "\n").count == 13)
        let table = try convc("summary", "specs/resnet18.yaml", "--depth", "1")
        #expect(table.stdout.contains("layer4   group              512×7×7     8,393,728  411,041,792  435 / 32"))
    }

    @Test func helpTeachesTheCommands() throws {
        let run = try convc("--help")
        #expect(run.status == 0)
        #expect(run.stdout.contains("convc check specs/vgg16.yaml"))
        #expect(run.stdout.contains("summary"))
    }
}

func convc(_ arguments: [String], standardInput: String? = nil) throws -> Run {
    let process = Process()
    process.executableURL = convcExecutable
    process.arguments = arguments
    process.currentDirectoryURL = packageRoot
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    if standardInput != nil { process.standardInput = input }
    try process.run()
    if let standardInput {
        input.fileHandleForWriting.write(Data(standardInput.utf8))
        try input.fileHandleForWriting.close()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}
