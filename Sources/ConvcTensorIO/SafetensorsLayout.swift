// The safetensors rule that convc and every emitted file apply, as one source: the emitter copies this file into
// each generated type (tools/embed_support.sh; a test keeps the copy fresh), so both readers give the same verdict
// on every file. Standard library only.

/// A safetensors file's layout, checked whole as the reference implementation checks it (huggingface/safetensors,
/// `Metadata::validate`): an 8-byte little-endian header length of at most 100 MB, a JSON object mapping names to
/// `dtype`, `shape` and `data_offsets` (and an optional `__metadata__` of strings), and data that the tensors
/// cover exactly, in order, with no gap, overlap or trailing byte. Nothing is decoded until asked for.
package struct SafetensorsLayout {
    struct Entry {
        var dtype: String
        var shape: [Int]
        /// Byte range within the data, which starts after the header.
        var begin: Int
        var end: Int
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    static let maximumHeaderBytes = 100_000_000

    /// Bytes per element of every dtype safetensors names; sub-byte dtypes (F4, F6) are refused.
    static let elementBytes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8, "C64": 8,
    ]

    /// The dtypes a parameter can be read from, converted to Float.
    static let floatingTypes = ["F32", "F16", "BF16", "F64", "F8_E4M3", "F8_E5M2"]

    let dataStart: Int
    let entries: [String: Entry]

    /// Every name in the file, sorted (for messages that must not depend on hashing).
    var names: [String] { entries.keys.sorted() }

    package init(_ file: UnsafeRawBufferPointer) throws(Failure) {
        guard file.count >= 8 else {
            throw Failure("the file is \(file.count) bytes long; a safetensors file starts with an 8-byte header length")
        }
        var length: UInt64 = 0
        for index in 0..<8 { length |= UInt64(file[index]) << (8 * UInt64(index)) }
        guard length <= UInt64(Self.maximumHeaderBytes) else {
            throw Failure("the header length \(length) is larger than the 100 MB safetensors allows")
        }
        guard length <= UInt64(file.count - 8) else {
            throw Failure("the header length \(length) runs past the end of the file (\(file.count) bytes)")
        }
        dataStart = 8 + Int(length)
        var parser = HeaderParser(UnsafeRawBufferPointer(rebasing: file[8..<dataStart]))
        entries = try parser.parseHeader()
        try Self.checkCoverage(entries, dataCount: file.count - dataStart)
    }

    /// Each entry's byte count is its shape's, and the entries tile the data from its first byte to its last.
    static func checkCoverage(_ entries: [String: Entry], dataCount: Int) throws(Failure) {
        for (name, entry) in entries {
            guard let width = elementBytes[entry.dtype] else {
                throw Failure("tensor \(quoted(name)) has an unknown dtype \(quoted(entry.dtype))")
            }
            guard entry.begin <= entry.end, entry.end <= dataCount else {
                throw Failure(
                    "tensor \(quoted(name)) has data_offsets [\(entry.begin), \(entry.end)] outside the \(dataCount) data bytes")
            }
            var count = 1
            for dim in entry.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw Failure("tensor \(quoted(name)) has an impossibly large shape \(entry.shape)") }
                count = product
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, bytes == entry.end - entry.begin else {
                throw Failure(
                    "tensor \(quoted(name)) has shape \(entry.shape) of \(entry.dtype) (\(count) × \(width) bytes) but data_offsets span \(entry.end - entry.begin) bytes")
            }
        }
        let ordered = entries.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }
        var covered = 0
        var previous: String?
        for (name, entry) in ordered {
            if entry.begin < covered, let previous {
                throw Failure("tensors \(quoted(previous)) and \(quoted(name)) overlap in the data")
            }
            guard entry.begin == covered else {
                throw Failure(
                    "tensor \(quoted(name)) starts at data byte \(entry.begin), but the tensors before it end at \(covered); the data has a gap")
            }
            covered = entry.end
            if entry.end > entry.begin { previous = name }
        }
        guard covered == dataCount else {
            throw Failure("the file has \(dataCount - covered) bytes after the last tensor's data")
        }
    }

    /// The prefix to read every required name under: "" when the names are there as they are; otherwise one
    /// dotted prefix that all present names share and that makes every required name present (`module.`, what
    /// `nn.DataParallel` adds); nil when neither works.
    package func namePrefix(for required: [String]) -> String? {
        if required.allSatisfy({ entries[$0] != nil }) { return "" }
        guard let first = entries.keys.min() else { return nil }
        var candidates: [String] = []
        var end = first.startIndex
        while let dot = first[end...].firstIndex(of: ".") {
            end = first.index(after: dot)
            candidates.append(String(first[..<end]))
        }
        for prefix in candidates where entries.keys.allSatisfy({ $0.hasPrefix(prefix) }) {
            if required.allSatisfy({ entries[prefix + $0] != nil }) { return prefix }
        }
        return nil
    }

    /// The tensor `name` as Float, checked against the shape the model needs. A parameter of one value may be
    /// stored with shape [] (PReLU's single slope); an integer or boolean tensor is refused by name.
    package func floats(_ name: String, shape expected: [Int], in file: UnsafeRawBufferPointer) throws(Failure) -> [Float] {
        guard let entry = entries[name] else { throw Failure("missing tensor \(Self.quoted(name)) \(expected)") }
        guard entry.shape == expected || (expected == [1] && entry.shape.isEmpty) else {
            throw Failure("tensor \(Self.quoted(name)) has shape \(entry.shape), but the spec needs \(expected)")
        }
        guard Self.floatingTypes.contains(entry.dtype) else {
            throw Failure(
                "tensor \(Self.quoted(name)) has dtype \(entry.dtype); a parameter is read from a floating-point tensor (\(Self.floatingTypes.joined(separator: ", ")))")
        }
        let base = file.baseAddress! + (dataStart + entry.begin)
        let count = expected.reduce(1, *)
        return [Float](unsafeUninitializedCapacity: count) { values, initialized in
            switch entry.dtype {
            case "F32":
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self))) }
            case "F64":
                for i in 0..<count { values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 &* i, as: UInt64.self)))) }
            case "BF16":
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))) << 16) }
            case "F16":
                for i in 0..<count { values[i] = Self.floatFromHalf(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))) }
            case "F8_E5M2":
                // The upper byte of a binary16: same sign, exponent and bias.
                for i in 0..<count { values[i] = Self.floatFromHalf(UInt16(base.load(fromByteOffset: i, as: UInt8.self)) << 8) }
            default:  // F8_E4M3 (PyTorch's float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
                for i in 0..<count { values[i] = Self.floatFromE4M3(base.load(fromByteOffset: i, as: UInt8.self)) }
            }
            initialized = count
        }
    }

    /// IEEE 754 binary16 → binary32, subnormals, infinities and NaN included.
    static func floatFromHalf(_ half: UInt16) -> Float {
        let sign = UInt32(half >> 15) << 31
        let exponent = Int((half >> 10) & 0x1F)
        let mantissa = UInt32(half & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)  // 2^-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }

    static func floatFromE4M3(_ byte: UInt8) -> Float {
        let exponent = Int((byte >> 3) & 0xF), mantissa = Float(byte & 0x7)
        let magnitude: Float =
            exponent == 15 && mantissa == 7 ? .nan
            : exponent == 0 ? mantissa / 8 * 0x1p-6 : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return byte >> 7 == 0 ? magnitude : -magnitude
    }

    /// A name as messages print it: quoted, with control and other invisible characters escaped, so a file
    /// cannot write escape sequences to a terminal.
    static func quoted(_ text: String) -> String {
        var result = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'": result += "\\'"
            case "\\": result += "\\\\"
            default:
                let visible = scalar.value >= 0x20 && scalar.value != 0x7F && !(0x80..<0xA0).contains(scalar.value)
                    && scalar.properties.generalCategory != .format
                result += visible ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return result + "'"
    }

    /// A strict reader for the one JSON object a header is (RFC 8259): objects, arrays, strings, integers,
    /// true, false and null; nesting limited so that no header can exhaust the stack.
    struct HeaderParser {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        static let maximumDepth = 64

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func parseHeader() throws(Failure) -> [String: Entry] {
            var entries: [String: Entry] = [:]
            var sawMetadata = false
            try parseObject { (parser: inout HeaderParser, name: String) throws(Failure) in
                if name == "__metadata__" {
                    guard !sawMetadata else { throw Failure("the header names '__metadata__' twice") }
                    sawMetadata = true
                    try parser.parseObject { (parser: inout HeaderParser, _: String) throws(Failure) in
                        guard parser.peek() == UInt8(ascii: "\"") else {
                            throw Failure("the header's '__metadata__' maps names to strings only")
                        }
                        _ = try parser.parseString()
                    }
                    return
                }
                guard entries[name] == nil else { throw Failure("the header names tensor \(quoted(name)) twice") }
                entries[name] = try parser.parseEntry(name)
            }
            skipSpaces()
            guard index == bytes.count else { throw Failure("the header has text after its JSON object") }
            return entries
        }

        mutating func parseEntry(_ name: String) throws(Failure) -> Entry {
            var dtype: String?, shape: [Int]?, offsets: [Int]?
            // Messages are made only on failure: a header may hold a million entries.
            func incomplete() -> Failure { Failure("tensor \(quoted(name)) needs 'dtype', 'shape' and two 'data_offsets' in the header") }
            guard peek() == UInt8(ascii: "{") else { throw incomplete() }
            try parseObject { (parser: inout HeaderParser, key: String) throws(Failure) in
                switch key {
                case "dtype":
                    guard dtype == nil, parser.peek() == UInt8(ascii: "\"") else { throw incomplete() }
                    dtype = try parser.parseString()
                case "shape":
                    guard shape == nil else { throw incomplete() }
                    shape = try parser.parseIntegers(Failure("tensor \(quoted(name)) has an invalid shape"))
                case "data_offsets":
                    guard offsets == nil else { throw incomplete() }
                    offsets = try parser.parseIntegers(Failure("tensor \(quoted(name)) has invalid data_offsets"))
                default:
                    try parser.skipValue(depth: 1)
                }
            }
            guard let dtype, let shape, let offsets, offsets.count == 2 else { throw incomplete() }
            return Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpaces() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            skipSpaces()
            guard peek() == byte else { throw Failure("the header is not valid JSON") }
            index += 1
        }

        /// `{ "key": value, … }`, handing each key to `member`, which parses the value.
        mutating func parseObject(_ member: (inout HeaderParser, String) throws(Failure) -> Void) throws(Failure) {
            skipSpaces()
            guard peek() == UInt8(ascii: "{") else { throw Failure("the header is not a JSON object") }
            index += 1
            skipSpaces()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpaces()
                guard peek() == UInt8(ascii: "\"") else { throw Failure("the header is not valid JSON") }
                let key = try parseString()
                try expect(UInt8(ascii: ":"))
                skipSpaces()
                try member(&self, key)
                skipSpaces()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        /// `[n, …]` of non-negative integers that fit in Int.
        mutating func parseIntegers(_ invalid: @autoclosure () -> Failure) throws(Failure) -> [Int] {
            guard peek() == UInt8(ascii: "[") else { throw invalid() }
            index += 1
            var values: [Int] = []
            skipSpaces()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return values
            }
            while true {
                skipSpaces()
                var value = 0
                let start = index
                while let byte = peek(), byte >= 0x30, byte <= 0x39 {
                    let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - 0x30))
                    guard !overflow1, !overflow2 else { throw invalid() }
                    value = sum
                    index += 1
                }
                // No sign, fraction or exponent; no leading zero (JSON).
                guard index > start, index - start == 1 || bytes[start] != 0x30 else { throw invalid() }
                if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    throw invalid()
                }
                values.append(value)
                skipSpaces()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard peek() == UInt8(ascii: "]") else { throw invalid() }
                index += 1
                return values
            }
        }

        /// A JSON string, escapes decoded; the raw bytes must be UTF-8.
        mutating func parseString() throws(Failure) -> String {
            let invalid = Failure("the header is not valid JSON")
            index += 1  // the opening quote
            var utf8: [UInt8] = []
            while true {
                guard let byte = peek() else { throw invalid }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    // Decoding replaces ill-formed UTF-8, so a round trip that changes the bytes finds it.
                    let text = String(decoding: utf8, as: UTF8.self)
                    guard text.utf8.elementsEqual(utf8) else { throw Failure("the header is not UTF-8 text") }
                    return text
                case UInt8(ascii: "\\"):
                    guard let escape = peek() else { throw invalid }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try parseHex4()
                        if (0xD800..<0xDC00).contains(code) {
                            guard peek() == UInt8(ascii: "\\") else { throw invalid }
                            index += 1
                            guard peek() == UInt8(ascii: "u") else { throw invalid }
                            index += 1
                            let low = try parseHex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw invalid }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw invalid }
                        utf8.append(contentsOf: String(scalar).utf8)
                    default: throw invalid
                    }
                default:
                    guard byte >= 0x20 else { throw invalid }
                    utf8.append(byte)
                }
            }
        }

        mutating func parseHex4() throws(Failure) -> UInt32 {
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek() else { throw Failure("the header is not valid JSON") }
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw Failure("the header is not valid JSON")
                }
                code = code << 4 | digit
                index += 1
            }
            return code
        }

        /// Any JSON value, checked and dropped (keys of an entry that safetensors does not define).
        mutating func skipValue(depth: Int) throws(Failure) {
            guard depth < Self.maximumDepth else { throw Failure("the header nests more than \(Self.maximumDepth) levels deep") }
            skipSpaces()
            guard let byte = peek() else { throw Failure("the header is not valid JSON") }
            switch byte {
            case UInt8(ascii: "{"):
                try parseObject { (parser: inout HeaderParser, _: String) throws(Failure) in try parser.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                index += 1
                skipSpaces()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    return
                }
                while true {
                    try skipValue(depth: depth + 1)
                    skipSpaces()
                    if peek() == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "]"))
                    return
                }
            case UInt8(ascii: "\""):
                _ = try parseString()
            default:
                for word in ["true", "false", "null"] where matches(word) {
                    index += word.utf8.count
                    return
                }
                try skipNumber()
            }
        }

        func matches(_ word: String) -> Bool {
            let count = word.utf8.count
            return index + count <= bytes.count && word.utf8.elementsEqual(bytes[index..<(index + count)])
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func skipNumber() throws(Failure) {
            let invalid = Failure("the header is not valid JSON")
            func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard isDigit(peek()) else { throw invalid }
            if peek() == 0x30 { index += 1 } else { while isDigit(peek()) { index += 1 } }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard isDigit(peek()) else { throw invalid }
                while isDigit(peek()) { index += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard isDigit(peek()) else { throw invalid }
                while isDigit(peek()) { index += 1 }
            }
        }
    }
}
