// libFuzzer harness for the .npy reader (ConvcTensorIO.NPY.parse). Built and run by tools/fuzz.sh.

import ConvcTensorIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let tensor = try? NPY.parse([UInt8](UnsafeBufferPointer(start: data, count: size)))
    withExtendedLifetime(tensor) {}
    return 0
}
