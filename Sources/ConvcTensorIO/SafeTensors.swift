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

public enum SafeTensors {
    /// Largest header accepted (the reference implementation's limit is 100 MB).
    static let maximumHeaderBytes = 100_000_000

    /// Parses a safetensors file. Every tensor is checked: known dtype, shape product matching its byte range,
    /// ranges inside the data and not overlapping. F16, BF16 and F64 are converted to Float32.
    public static func parse(_ bytes: [UInt8]) throws -> [String: StoredTensor] {
        guard bytes.count >= 8 else {
            throw TensorFileError("the file is \(bytes.count) bytes long; a safetensors file starts with an 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for index in 0..<8 { headerLength |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw TensorFileError("the header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard headerLength <= UInt64(maximumHeaderBytes) else {
            throw TensorFileError("the header length \(headerLength) is larger than the 100 MB safetensors allows")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerData = Data(bytes[8..<headerEnd])
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw TensorFileError("the header is not valid JSON")
        }
        guard let header = object as? [String: Any] else {
            throw TensorFileError("the header is not a JSON object")
        }
        let dataCount = bytes.count - headerEnd
        var tensors: [String: StoredTensor] = [:]
        var ranges: [(begin: Int, end: Int, name: String)] = []
        for (name, entry) in header where name != "__metadata__" {
            guard let fields = entry as? [String: Any], let dtype = fields["dtype"] as? String,
                let shapeValues = fields["shape"] as? [Any], let offsetValues = fields["data_offsets"] as? [Any],
                offsetValues.count == 2
            else {
                throw TensorFileError("tensor '\(name)' needs 'dtype', 'shape' and two 'data_offsets' in the header")
            }
            let shape = try shapeValues.map { value -> Int in
                guard let number = value as? NSNumber, let dim = Int(exactly: number.doubleValue), dim >= 0 else {
                    throw TensorFileError("tensor '\(name)' has an invalid shape")
                }
                return dim
            }
            let offsets = try offsetValues.map { value -> Int in
                guard let number = value as? NSNumber, let offset = Int(exactly: number.doubleValue), offset >= 0 else {
                    throw TensorFileError("tensor '\(name)' has invalid data_offsets")
                }
                return offset
            }
            guard offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw TensorFileError(
                    "tensor '\(name)' has data_offsets [\(offsets[0]), \(offsets[1])] outside the \(dataCount) data bytes")
            }
            guard let width = elementWidth(dtype) else {
                throw TensorFileError(
                    "tensor '\(name)' has dtype \(dtype); convc reads F32, F16, BF16 and F64")
            }
            var count = 1
            for dim in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw TensorFileError("tensor '\(name)' has an impossibly large shape") }
                count = product
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, bytesNeeded == offsets[1] - offsets[0] else {
                throw TensorFileError(
                    "tensor '\(name)' has shape \(shape) (\(count) × \(width) bytes) but data_offsets span \(offsets[1] - offsets[0]) bytes")
            }
            ranges.append((offsets[0], offsets[1], name))
            let start = headerEnd + offsets[0]
            tensors[name] = StoredTensor(
                shape: shape, values: decode(bytes, from: start, count: count, dtype: dtype), storedType: dtype)
        }
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (previous, next) in zip(ranges, ranges.dropFirst()) where next.begin < previous.end {
            throw TensorFileError("tensors '\(previous.name)' and '\(next.name)' overlap in the data")
        }
        return tensors
    }

    static func elementWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F32": 4
        case "F16", "BF16": 2
        case "F64": 8
        default: nil
        }
    }

    static func decode(_ bytes: [UInt8], from start: Int, count: Int, dtype: String) -> [Float] {
        bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!) + start
            return [Float](unsafeUninitializedCapacity: count) { values, initialized in
                switch dtype {
                case "F32":
                    for i in 0..<count {
                        values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case "F64":
                    for i in 0..<count {
                        values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    }
                case "BF16":
                    for i in 0..<count {
                        let half = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        values[i] = Float(bitPattern: UInt32(half) << 16)
                    }
                default:  // F16
                    for i in 0..<count {
                        let half = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        values[i] = floatFromHalf(half)
                    }
                }
                initialized = count
            }
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
