// libFuzzer harness for the safetensors reader that every emitted Swift file nests in its type (a copy of
// Sources/ConvcTensorIO/SafetensorsLayout.swift). Compiled into one module with generated/lenet5.swift, so the
// internal `Lenet5.SafetensorsLayout` is reachable. Built and run by tools/fuzz.sh; not a SwiftPM target.

import Foundation

/// One temporary file per process, rewritten for each input that takes the public path.
let weightsURL = FileManager.default.temporaryDirectory
    .appendingPathComponent("convc-fuzz-\(ProcessInfo.processInfo.processIdentifier).safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    // The layout directly: every entry decoded at its own shape, and the prefix rule.
    if let layout = try? Lenet5.SafetensorsLayout(raw) {
        var count = 0
        for name in layout.names {
            if let values = try? layout.floats(name, shape: layout.entries[name]!.shape, in: raw) {
                count &+= values.count
            }
        }
        let prefix = layout.namePrefix(for: ["conv1.weight"])
        withExtendedLifetime((count, prefix)) {}
    }
    // The public path (regular-file check, memory map, LeNet-5's names and shapes, the prefix it reads past) costs
    // a file write, so only for about half the inputs: those whose first byte is even.
    if size > 0, data[0] & 1 == 0 {
        do {
            try Data(bytes: data, count: size).write(to: weightsURL)
        } catch {
            fatalError("cannot write \(weightsURL.path): \(error)")
        }
        let model = try? Lenet5(weights: weightsURL)
        withExtendedLifetime(model) {}
    }
    return 0
}
