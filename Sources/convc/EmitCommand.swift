// `convc emit`: one standalone Swift file per network.

import ArgumentParser
import ConvcSwiftEmitter
import Foundation

struct Emit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a standalone Swift source file for a spec.",
        discussion: """
            The file declares one type (named after the model, or --type-name) with the model's metadata, \
            init(weights:) reading the same .safetensors files as `convc run`, init(tensors:), and predict \
            (allocating and allocation-free). It depends on nothing but Foundation. Compile it with \
            `swiftc -O -target-cpu native` (or `-Xswiftc -target-cpu -Xswiftc native` through SwiftPM).
            """)

    @Argument(help: "The spec file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var spec: String

    @Option(name: .shortAndLong, help: "Where to write the Swift file (standard output if omitted).")
    var output: String?

    @Option(help: "The name of the emitted type (default: the model name in UpperCamelCase).")
    var typeName: String?

    @Option(help: "Access level of the emitted API: public or internal.")
    var access: String = "public"

    func validate() throws {
        guard access == "public" || access == "internal" else {
            throw ValidationError("--access must be public or internal")
        }
        if let typeName, !(typeName.first.map { $0.isLetter || $0 == "_" } ?? false)
            || !typeName.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        {
            throw ValidationError("--type-name must be a Swift identifier")
        }
    }

    func run() throws {
        let model = try requireModel(spec)
        let source = emitSwift(model, options: EmitOptions(sourcePath: spec, typeName: typeName, access: access))
        if let output {
            try writeAtomically(Array(source.utf8), to: output)
        } else {
            print(source, terminator: "")
        }
    }
}
