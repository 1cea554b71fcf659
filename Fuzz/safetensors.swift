// libFuzzer harness for convc's safetensors reader (ConvcTensorIO.SafeTensorsFile): open, decode every tensor at
// its own shape, and look for a name prefix. Built and run by tools/fuzz.sh; not a SwiftPM target.

import ConvcTensorIO
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafeTensorsFile(Data(bytes: data, count: size)) else { return 0 }
    var count = 0
    for name in file.names {
        if let values = try? file.floats(name, shape: file.shape(of: name)!) { count &+= values.count }
    }
    let prefix = file.namePrefix(for: ["a.weight", "b"])
    withExtendedLifetime((count, prefix)) {}
    return 0
}
