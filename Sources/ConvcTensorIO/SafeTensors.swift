// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header mapping
// each tensor name to its dtype, shape and byte range, then the raw little-endian data. Bytes in, floats out: no I/O.

import Foundation

/// A named tensor as stored in a weights file, converted to Float32.
public struct StoredTensor: Sendable {
    public var shape: [Int]
    public var values: [Float]
    /// The dtype written in the file (`F32`, `F16`, `BF16`, `F64`).
    public var storedType: String

    public init(shape: [Int], values: [Float], storedType: String = "F32") {
        self.shape = shape
        self.values = values
        self.storedType = storedType
    }
}

/// What is wrong with a weights or array file, in words that name the problem.
public struct TensorFileError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A safetensors file checked whole when opened (`SafetensorsLayout`, the rule the emitted readers share);
/// tensors are decoded one at a time, when asked for, so unused ones cost nothing and the file is held once.
public struct SafeTensorsFile: @unchecked Sendable {
    let data: Data
    let layout: SafetensorsLayout

    public init(_ data: Data) throws(TensorFileError) {
        layout = try Self.reading(data) { file throws(SafetensorsLayout.Failure) in try SafetensorsLayout(file) }
        self.data = data
    }

    public init(_ bytes: [UInt8]) throws(TensorFileError) { try self.init(Data(bytes)) }

    /// Every tensor name, sorted.
    public var names: [String] { layout.names }

    public func dtype(of name: String) -> String? { layout.entries[name]?.dtype }
    public func shape(of name: String) -> [Int]? { layout.entries[name]?.shape }

    /// "" when every required name is present as it is, a prefix such as `module.` that every name in the file
    /// carries and that makes them all present, or nil.
    public func namePrefix(for required: [String]) -> String? { layout.namePrefix(for: required) }

    /// The tensor as Float, checked against `shape`; integer and boolean tensors are refused by name.
    public func floats(_ name: String, shape: [Int]) throws(TensorFileError) -> [Float] {
        try Self.reading(data) { file throws(SafetensorsLayout.Failure) in try layout.floats(name, shape: shape, in: file) }
    }

    /// `body` on the file's bytes, its failure as this module's error.
    private static func reading<T>(
        _ data: Data, _ body: (UnsafeRawBufferPointer) throws(SafetensorsLayout.Failure) -> T
    ) throws(TensorFileError) -> T {
        let result = data.withUnsafeBytes { file in Result { () throws(SafetensorsLayout.Failure) in try body(file) } }
        do {
            return try result.get()
        } catch {
            throw TensorFileError(error.description)
        }
    }

    /// A name as messages print it: quoted, control characters escaped.
    public static func quoted(_ name: String) -> String { SafetensorsLayout.quoted(name) }
}

public enum SafeTensors {
    /// Writes tensors as F32, in the given order, with the header padded to 8 bytes as the reference writer does.
    public static func serialize(_ tensors: [(name: String, tensor: StoredTensor)]) -> [UInt8] {
        var header = "{"
        var offset = 0
        for (index, entry) in tensors.enumerated() {
            let size = entry.tensor.values.count * 4
            header += (index == 0 ? "" : ",") + jsonString(entry.name)
                + ":{\"dtype\":\"F32\",\"shape\":[\(entry.tensor.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count)
        for _ in 0..<8 {
            bytes.append(UInt8(length & 0xFF))
            length >>= 8
        }
        bytes += headerBytes
        for entry in tensors {
            appendLittleEndian(entry.tensor.values, to: &bytes)
        }
        return bytes
    }

    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
