// libFuzzer harness for the spec front end (ConvcFrontend.compileSpec): arbitrary bytes as spec text.
// Built and run by tools/fuzz.sh; not a SwiftPM target.

import ConvcDiagnostics
import ConvcFrontend
import Glibc

/// CONVC_FUZZ_PRINT=1 prints each input's diagnostics, for looking at a reproducer (`frontend FILE`).
let printDiagnostics = getenv("CONVC_FUZZ_PRINT") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Invalid UTF-8 is repaired (U+FFFD), as reading a spec file does.
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let (model, diagnostics) = compileSpec(text, file: "fuzz.yaml")
    // Rendering is part of the front end's output: locations, notes and quoted source must not trap.
    var length = 0
    for diagnostic in diagnostics.diagnostics {
        let text = diagnostic.formatted
        length &+= text.utf8.count
        if printDiagnostics { print(text) }
    }
    withExtendedLifetime((model, length)) {}
    return 0
}
