// The front end's one entry point: spec text in, checked model and diagnostics out. No I/O.

import ConvcDiagnostics
import ConvcIR

/// Parses, decodes and checks a spec. `file` is the path diagnostics print.
/// Returns the model when there are no errors (warnings allowed; errors when `strict`), or when the only errors
/// are `expect:` figures that disagree (category `expectMismatch`): callers that run the model check `hasErrors`.
public func compileSpec(_ text: String, file: String, strict: Bool = false) -> (
    model: Model?, diagnostics: DiagnosticEngine
) {
    var diagnostics = DiagnosticEngine(warningsAsErrors: strict)
    guard let root = parseYAML(text, file: file, diagnostics: &diagnostics) else { return (nil, diagnostics) }
    guard let spec = decodeSpec(root, diagnostics: &diagnostics) else { return (nil, diagnostics) }
    if diagnostics.hasErrors {
        // Structural errors make shapes meaningless: check what can be checked, but report no model.
        _ = checkSpec(spec, diagnostics: &diagnostics)
        return (nil, diagnostics)
    }
    let model = checkSpec(spec, diagnostics: &diagnostics)
    return (model, diagnostics)
}
