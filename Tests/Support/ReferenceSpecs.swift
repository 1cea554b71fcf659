// What the tests of the reference networks share: the package's folder, the specs in specs/, and their models.

import ConvcFrontend
import ConvcIR
import Foundation

/// The package's root folder.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The reference specs, `specs/NAME.yaml`, by name.
public let specNames: [String] = {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("specs").path)) ?? []
    return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
}()

/// The checked model of `specs/NAME.yaml`; a spec with errors throws them.
public func loadModel(_ name: String) throws -> Model {
    let text = try String(contentsOf: packageRoot.appendingPathComponent("specs/\(name).yaml"), encoding: .utf8)
    let (model, engine) = compileSpec(text, file: "specs/\(name).yaml")
    guard let model, !engine.hasErrors else { throw SpecErrors(messages: engine.diagnostics.map(\.message)) }
    return model
}

/// The errors of a reference spec that should have none.
public struct SpecErrors: Error {
    public var messages: [String]
}
