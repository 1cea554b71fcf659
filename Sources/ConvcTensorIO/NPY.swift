// NumPy's .npy format (numpy.lib.format): magic, version, a little header dict, then C-order data.

/// A float32 array read from or written to a .npy file.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// Parses a float32 (`<f4`) or float64 (`<f8`, converted) array in C order.
    public static func parse(_ bytes: [UInt8]) throws -> StoredTensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw TensorFileError("not a .npy file (it does not start with \\x93NUMPY)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw TensorFileError("the .npy header is truncated") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw TensorFileError(".npy format version \(major) is not supported (1, 2 and 3 are)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw TensorFileError("the .npy header length \(headerLength) runs past the end of the file")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header), let fortran = field("fortran_order", in: header),
            let shapeText = field("shape", in: header)
        else {
            throw TensorFileError("the .npy header is damaged: it needs 'descr', 'fortran_order' and 'shape'")
        }
        let width: Int
        switch descr {
        case "'<f4'", "'float32'": width = 4
        case "'<f8'", "'float64'": width = 8
        default:
            throw TensorFileError("the array's dtype is \(descr); convc reads float32 ('<f4') arrays")
        }
        guard fortran == "False" else {
            throw TensorFileError("the array is stored in Fortran order; save it in C order (np.ascontiguousarray)")
        }
        guard shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw TensorFileError("the .npy header has an unreadable shape \(shapeText)")
        }
        var shape: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let trimmed = part.filter { $0 != " " && $0 != "L" }
            if trimmed.isEmpty { continue }
            guard let dim = Int(trimmed), dim >= 0 else {
                throw TensorFileError("the .npy header has an unreadable shape \(shapeText)")
            }
            shape.append(dim)
        }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw TensorFileError("the .npy shape \(shape) is impossibly large") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let typeName = width == 4 ? "float32" : "float64"
        let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow else { throw TensorFileError("the .npy shape \(shape) of \(typeName) is impossibly large") }
        guard bytes.count - dataStart == bytesNeeded else {
            throw TensorFileError(
                "the .npy data is \(bytes.count - dataStart) bytes, but shape \(shape) of \(typeName) needs \(bytesNeeded)")
        }
        let values = bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            return [Float](unsafeUninitializedCapacity: count) { values, initialized in
                if width == 4 {
                    for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self))) }
                } else {
                    for i in 0..<count { values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 &* i, as: UInt64.self)))) }
                }
                initialized = count
            }
        }
        return StoredTensor(shape: shape, values: values, storedType: width == 4 ? "F32" : "F64")
    }

    /// The value of `key` in a header like `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`.
    static func field(_ key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        var rest = header[keyRange.upperBound...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if rest.first == "'" {
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "'") else { return nil }
            return "'" + rest[..<close] + "'"
        }
        let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
        return String(rest[..<end]).trimmingCharacters()
    }

    /// Writes a float32 C-order array in format version 1.0.
    public static func serialize(shape: [Int], values: [Float]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so that the data starts on a 64-byte boundary; the header ends with a newline.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes = magic + [1, 0]
        let length = header.utf8.count
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        appendLittleEndian(values, to: &bytes)
        return bytes
    }
}

extension String {
    func trimmingCharacters() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

/// Appends Float32 values as little-endian bytes (a straight copy on little-endian hosts).
func appendLittleEndian(_ values: [Float], to bytes: inout [UInt8]) {
    #if _endian(little)
        values.withUnsafeBytes { bytes += $0 }
    #else
        for value in values {
            var bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { bytes += $0 }
        }
    #endif
}
