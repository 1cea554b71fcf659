// `convc emit`: one standalone Swift file per network.

import ArgumentParser
import ConvcSwiftEmitter
import Foundation

extension EmitTarget: ExpressibleByArgument {}

struct Emit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a standalone Swift source file for a spec.",
        discussion: """
            The file declares one type (named after the model, or --type-name) with the model's metadata, \
            init(weights:) reading the same .safetensors files as `convc run`, init(tensors:), and predict \
            (allocating and allocation-free). It depends on nothing but Foundation. Compile it with \
            `swiftc -O -target-cpu native -DCONVC_FMA` (or `-Xswiftc -target-cpu -Xswiftc native -Xswiftc -DCONVC_FMA` \
            through SwiftPM). --target sizes the convolutions' register tiles: avx2 (the default, and right for Arm) \
            or avx512; code for either runs on any CPU, fastest on the one it names. --plan prints what the emitter \
            decided for each step (kernel, tiles, bands, copies, layouts, fusions) instead of the Swift.
            """)

    @Argument(help: "The spec file (YAML), or - to read it from standard input.", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(name: .shortAndLong, help: "Where to write the Swift file (standard output if omitted).", completion: .file(extensions: ["swift"]))
    var output: String?

    @Option(help: "The name of the emitted type (default: the model name in UpperCamelCase).")
    var typeName: String?

    @Option(help: "Access level of the emitted API: public or internal.")
    var access: String = "public"

    @Option(help: "The vector registers the convolutions' tiles fit: \(EmitTarget.allValueStrings.joined(separator: " or ")).")
    var target: EmitTarget = .avx2

    @Flag(help: "Print the emitter's plan instead of the Swift: each step's kernel, tiles, bands, copies, layouts and fusions.")
    var plan = false

    func validate() throws {
        guard access == "public" || access == "internal" else {
            throw ValidationError("--access must be public or internal")
        }
        if let typeName, !(typeName.first.map { $0.isLetter || $0 == "_" } ?? false)
            || !typeName.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        {
            throw ValidationError("--type-name must be a Swift identifier")
        }
        if let typeName, isReservedInEmittedCode(typeName) {
            throw ValidationError("--type-name '\(typeName)' is a Swift keyword or a name the emitted code uses; choose another")
        }
        try requireDistinct(output: output, from: [spec], option: "--output")
    }

    func run() throws {
        let model = try requireModel(spec)
        if plan {
            let text = describePlan(model, target: target)
            if let output { try writeAtomically(Array(text.utf8), to: output) } else { print(text, terminator: "") }
            return
        }
        let progress = Progress("emitting \(model.name)")
        let source = emitSwift(model, options: EmitOptions(sourcePath: portableSourcePath(spec), typeName: typeName, access: access, target: target))
        progress.finish()
        if let output {
            try writeAtomically(Array(source.utf8), to: output)
        } else {
            print(source, terminator: "")
        }
    }
}

/// The spec's path as an emitted file names it: relative to the current folder when it is inside it, else the
/// file name alone, so that no generated file records where someone's home folder is.
func portableSourcePath(_ path: String) -> String {
    if path == standardInputPath { return standardInputName }
    guard path.hasPrefix("/") else { return path }
    let folder = FileManager.default.currentDirectoryPath
    if path.hasPrefix(folder + "/") { return String(path.dropFirst(folder.count + 1)) }
    return URL(fileURLWithPath: path).lastPathComponent
}
