// Names an emitted function or type must not take: Swift's keywords, and every name the emitted code declares or
// calls unqualified, which a static function of the same name would shadow (a layer named `tanh` or `min`).

/// Swift's keywords, in declarations, statements, expressions and types, and the contextual ones that break a
/// declaration name.
let swiftKeywords: Set<String> = [
    "associatedtype", "borrowing", "class", "consuming", "deinit", "enum", "extension", "fileprivate", "func",
    "import", "init", "inout", "internal", "let", "nonisolated", "open", "operator", "package", "private",
    "precedencegroup", "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
    "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if",
    "in", "repeat", "return", "switch", "throw", "where", "while", "Any", "as", "await", "false", "is", "nil",
    "self", "Self", "super", "throws", "true", "try", "async", "some", "any", "_",
]

/// Standard-library and Foundation names the emitted code uses without qualification.
let calledNames: Set<String> = [
    "min", "max", "abs", "exp", "expf", "log", "tanh", "tanhf", "pow", "sqrt", "erf", "erff", "fma", "fmaf",
    "stride", "zip", "print", "precondition", "fatalError", "assert", "withUnsafeTemporaryAllocation",
    "withoutActuallyEscaping", "withExtendedLifetime", "withUnsafeBytes", "withUnsafeMutableBytes", "madvise",
    "Float", "Double", "Int", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Bool", "String",
    "Character", "Array", "Dictionary", "Set", "Result", "Error", "Never", "Void", "Sendable", "SIMD", "SIMD2",
    "SIMD4", "SIMD8", "SIMD16", "SIMD32", "SIMD64", "Data", "URL", "FileManager", "FileHandle", "ProcessInfo",
    "DispatchQueue", "DispatchTime", "UnsafePointer", "UnsafeMutablePointer", "UnsafeRawPointer",
    "UnsafeMutableRawPointer", "UnsafeRawBufferPointer", "UnsafeMutableRawBufferPointer", "UnsafeBufferPointer",
    "UnsafeMutableBufferPointer", "Unicode", "ObjCBool", "FileAttributeType", "Foundation", "Swift",
]

/// Every function, type and static property the support code declares (`func dot`, `struct
/// SafetensorsLayout`, `static let printedBuildAdvice`), read from its source so the list cannot fall behind it.
/// Its local variables do not count: inside a function a local shadows a member, as intended.
let declaredSupportNames: Set<String> = {
    var names: Set<String> = []
    for source in [emittedSupportSource, safetensorsLayoutSource] {
        let words = words(in: source)
        for index in words.indices.dropLast(2) {
            if ["func", "struct", "class", "enum", "typealias"].contains(words[index]) {
                names.insert(words[index + 1])
            } else if words[index] == "static", ["let", "var"].contains(words[index + 1]) {
                names.insert(words[index + 2])
            }
        }
    }
    return names
}()

/// Whether an emitted declaration called `name` would break the file or shadow something it uses.
public func isReservedInEmittedCode(_ name: String) -> Bool {
    swiftKeywords.contains(name) || calledNames.contains(name) || declaredSupportNames.contains(name)
}
