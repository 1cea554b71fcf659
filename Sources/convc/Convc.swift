// The `convc` command: reads spec files, runs the pipeline, prints reports and diagnostics, sets the exit code.

import ArgumentParser
import ConvcDiagnostics
import ConvcFrontend
import ConvcIR
import ConvcReport
import Foundation

@main
struct Convc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convc",
        abstract: "A compiler for declarative convolutional-network specs.",
        discussion: """
            convc reads a network described in YAML, infers every tensor shape, counts parameters and \
            multiply-accumulates, and reports every mistake at file:line:col.

            Examples:
              convc check specs/vgg16.yaml
              convc check --strict specs/*.yaml
              convc summary specs/resnet50.yaml --depth 2
              convc summary specs/mobilenet_v1.yaml --format json > mobilenet.json
              convc init specs/resnet18.yaml -o resnet18.safetensors
              convc run specs/resnet18.yaml --weights resnet18.safetensors --input image.npy --top 5
              convc bench specs/resnet18.yaml --threads 1
              convc emit specs/resnet18.yaml -o Resnet18.swift
              convc verify specs/resnet18.yaml --weights resnet18.safetensors

            Weights are what PyTorch saves: safetensors.torch.save_file(model.state_dict(), "w.safetensors").
            A spec of - is read from standard input.

            The spec language is described in docs/spec-language.md.
            Exit status: 0 when the spec is sound (warnings allowed), 1 when it has errors, 64 for usage errors.
            """,
        version: "0.1.0",
        subcommands: [Check.self, Summary.self, Init.self, Run.self, Bench.self, Export.self, Emit.self, Verify.self]
    )
}

/// Options shared by every command that reads a spec.
struct SpecOptions: ParsableArguments {
    @Flag(help: "Treat warnings (such as input pixels a stride never reads) as errors.")
    var strict = false
}

/// Reads and checks one spec, printing diagnostics to standard error. Returns nil when it has errors.
func loadModel(path: String, strict: Bool) -> (Model?, DiagnosticEngine) {
    let text: String
    do {
        text = try readSpec(path)
    } catch {
        var engine = DiagnosticEngine()
        engine.error("\(error)", at: nil)
        return (nil, engine)
    }
    return compileSpec(text, file: displayName(path), strict: strict)
}

struct ReadError: Error, CustomStringConvertible {
    var description: String
}

/// The largest spec convc reads; anything bigger is certainly not a hand-written network.
let maximumSpecBytes = 64 << 20

/// What is at `path`; a missing file or a directory is a failure naming it.
func fileType(_ path: String) throws -> FileAttributeType? {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ReadError(description: "cannot read '\(path)': no such file")
    }
    guard !isDirectory.boolValue else { throw ReadError(description: "cannot read '\(path)': it is a directory") }
    return (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
}

/// Reads a whole spec, at most `limit` bytes; every failure is one sentence that names the file. A pipe is a
/// fine source (`convc check <(…)`); a device such as /dev/zero is not.
func readFile(_ path: String, limit: Int) throws -> Data {
    let type = try fileType(path)
    guard type != .typeCharacterSpecial, type != .typeBlockSpecial else {
        throw ReadError(description: "cannot read '\(path)': it is a device, not a file")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw ReadError(description: "cannot read '\(path)': permission denied")
    }
    defer { try? handle.close() }
    let data = try handle.read(upToCount: limit + 1) ?? Data()
    guard data.count <= limit else {
        throw ReadError(description: "'\(path)' is larger than \(limit >> 20) MiB; is it a spec?")
    }
    return data
}

/// Maps a regular file into memory. Devices and pipes are refused: `/dev/zero` has no end, and a size checked
/// against the file is what keeps every later allocation bounded.
func mapFile(_ path: String) throws -> Data {
    guard try fileType(path) == .typeRegular else {
        throw ReadError(description: "cannot read '\(path)': it is not a regular file")
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw ReadError(description: "cannot read '\(path)': permission denied")
    }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw ReadError(description: "cannot read '\(path)': \(error.localizedDescription)")
    }
}

/// Reads a spec file, or standard input for `-`.
func readSpec(_ path: String) throws -> String {
    let data = path == standardInputPath ? try readStandardInput(limit: maximumSpecBytes) : try readFile(path, limit: maximumSpecBytes)
    guard let text = String(data: data, encoding: .utf8) else {
        throw ReadError(description: "'\(path)' is not UTF-8 text")
    }
    return text
}

/// The path that names standard input, as in most Unix tools, and how diagnostics then name the spec.
let standardInputPath = "-"
let standardInputName = "<stdin>"

func displayName(_ path: String) -> String { path == standardInputPath ? standardInputName : path }

/// Standard input, read once: a second `-` in one command reads what the first left (nothing).
func readStandardInput(limit: Int) throws -> Data {
    let data = try FileHandle.standardInput.read(upToCount: limit + 1) ?? Data()
    guard data.count <= limit else {
        throw ReadError(description: "standard input is larger than \(limit >> 20) MiB; is it a spec?")
    }
    return data
}

/// `path: 1 error, 1 warning`: the closing line of every command that found errors in a spec.
func printErrorCount(_ path: String, _ engine: DiagnosticEngine) {
    let summary = "\(displayName(path)): \(plural(engine.errorCount, "error"))"
        + (engine.warningCount > 0 ? ", \(plural(engine.warningCount, "warning"))" : "")
    FileHandle.standardError.write(Data((summary + "\n").utf8))
}

func printDiagnostics(_ engine: DiagnosticEngine) {
    for diagnostic in engine.sorted {
        FileHandle.standardError.write(Data((diagnostic.formatted + "\n").utf8))
    }
}

func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check specs: shapes, parameter counts and `expect:` figures.",
        discussion: """
            Prints one line per sound spec (shapes, parameters, MACs) and every problem as \
            path:line:col: error|warning: message. Exits 1 when any spec has errors.
            """
    )

    @Argument(help: "Spec files (YAML); - reads one from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var specs: [String]

    @OptionGroup var options: SpecOptions

    @Flag(name: .shortAndLong, help: "Print nothing for sound specs; only diagnostics.")
    var quiet = false

    func validate() throws {
        guard !specs.isEmpty else { throw ValidationError("give at least one spec file") }
    }

    func run() throws {
        var failed = false
        for path in specs {
            let (model, engine) = loadModel(path: path, strict: options.strict)
            printDiagnostics(engine)
            if let model, !engine.hasErrors {
                if !quiet {
                    print(
                        "\(displayName(path)): \(model.name): \(model.inputShape) → \(model.outputShape), "
                            + "\(grouped(model.parameterCount)) params"
                            + (model.nonTrainableParameterCount > 0
                                ? " (+\(grouped(model.nonTrainableParameterCount)) running statistics)" : "")
                            + ", \(grouped(model.macs)) MACs, \(plural(model.layers.count - 1, "layer"))"
                            + (engine.warningCount > 0 ? ", \(plural(engine.warningCount, "warning"))" : ""))
                }
            } else {
                failed = true
                if engine.diagnostics.allSatisfy({ $0.location == nil }) { continue }
                printErrorCount(path, engine)
            }
        }
        if failed { throw ExitCode(1) }
    }
}

extension ReportFormat: ExpressibleByArgument {}

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the per-layer report of a spec: shapes, parameters, MACs, receptive field, memory.",
        discussion: """
            Formats: table (the default, for terminals), markdown, json (a stable contract: see docs/reports.md) \
            and csv. --depth N folds layers nested deeper than N name components into their block's row, \
            like torchinfo's depth.
            """
    )

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(help: "Output format.")
    var format: ReportFormat = .table

    @Option(help: "Fold blocks nested deeper than this many name components into one row each.")
    var depth: Int?

    @OptionGroup var options: SpecOptions

    func validate() throws {
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
    }

    func run() throws {
        let (model, engine) = loadModel(path: spec, strict: options.strict)
        // The front end keeps the model when only `expect:` figures disagree: exactly when the table is wanted.
        if let model {
            print(renderSummary(summarize(model, depth: depth), format: format), terminator: "")
        }
        printDiagnostics(engine)
        guard model != nil, !engine.hasErrors else {
            if engine.diagnostics.contains(where: { $0.location != nil }) { printErrorCount(spec, engine) }
            throw ExitCode(1)
        }
    }
}
