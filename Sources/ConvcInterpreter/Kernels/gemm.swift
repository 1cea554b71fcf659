import Foundation

// Single-precision matrix multiply for convolutions and dense layers: C = A · B (+ bias, activation).
// A (the weights) is packed once into panels of `gemmMR` rows; B is packed per call into panels of `gemmNR`
// columns; a register-blocked micro-kernel keeps an MR × NR tile of C in SIMD accumulators (after BLIS/llm.c).

/// Rows of A per micro-kernel tile.
let gemmMR = 4
/// Columns of B per micro-kernel tile: two SIMD16 vectors.
let gemmNR = 32
/// Depth of one packed block of B (fits L1/L2 with the A panel).
let gemmKC = 256

/// What the output loop applies after the sum: per-row bias, then an activation.
struct Epilogue {
    enum Activation: Equatable {
        case none, relu, relu6, leakyReLU(Float), sigmoid, tanh, silu, hardswish, hardsigmoid, gelu, geluTanh
    }
    var bias: UnsafePointer<Float>?
    var activation: Activation = .none
}

/// A weight matrix [M, K] packed as ceil(M / MR) panels of [K][MR] (rows past M are zero).
struct PackedMatrix {
    let rows: Int
    let depth: Int
    let storage: [Float]

    init(rows: Int, depth: Int, rowMajor: UnsafePointer<Float>) {
        self.rows = rows
        self.depth = depth
        let panels = (rows + gemmMR - 1) / gemmMR
        var storage = [Float](repeating: 0, count: panels * depth * gemmMR)
        storage.withUnsafeMutableBufferPointer { packed in
            for panel in 0..<panels {
                let base = panel * depth * gemmMR
                for r in 0..<gemmMR where panel * gemmMR + r < rows {
                    let source = rowMajor + (panel * gemmMR + r) * depth
                    for k in 0..<depth { packed[base + k * gemmMR + r] = source[k] }
                }
            }
        }
        self.storage = storage
    }
}

/// Where the columns of B come from: packed `kc` rows × `gemmNR` columns at a time, zero-padded.
protocol PanelSource {
    /// Writes B[k0 ..< k0 + kc, n0 ..< n0 + nr] into `panel` as [kc][NR] (columns past nr are zero).
    func pack(k0: Int, kc: Int, n0: Int, nr: Int, into panel: UnsafeMutablePointer<Float>)
}

/// B as a row-major matrix [K, N] with row stride `ldb`.
struct MatrixSource: PanelSource {
    let base: UnsafePointer<Float>
    let ldb: Int

    @inline(__always)
    func pack(k0: Int, kc: Int, n0: Int, nr: Int, into panel: UnsafeMutablePointer<Float>) {
        for kk in 0..<kc {
            let source = base + (k0 + kk) * ldb + n0
            let target = panel + kk * gemmNR
            target.update(from: source, count: nr)
            if nr < gemmNR { (target + nr).update(repeating: 0, count: gemmNR - nr) }
        }
    }
}

/// C[M, N] = A · B[K, N] for the columns `columns` (so threads can split N), C row-major with stride `ldc`.
/// `scratch` holds at least KC × NR floats.
func gemm<Source: PanelSource>(
    _ a: PackedMatrix, b: Source, c: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>,
    epilogue: Epilogue, scratch: UnsafeMutablePointer<Float>
) {
    let m = a.rows, k = a.depth
    let panels = (m + gemmMR - 1) / gemmMR
    a.storage.withUnsafeBufferPointer { packedA in
        var n0 = columns.lowerBound
        while n0 < columns.upperBound {
            let nr = min(gemmNR, columns.upperBound - n0)
            var k0 = 0
            while k0 < k {
                let kc = min(gemmKC, k - k0)
                b.pack(k0: k0, kc: kc, n0: n0, nr: nr, into: scratch)
                let last = k0 + kc == k
                for panel in 0..<panels {
                    let rows = min(gemmMR, m - panel * gemmMR)
                    microKernel(
                        depth: kc, a: packedA.baseAddress! + panel * k * gemmMR + k0 * gemmMR, b: scratch,
                        c: c + panel * gemmMR * ldc + n0, ldc: ldc, rows: rows, columns: nr, accumulate: k0 > 0,
                        epilogue: last ? epilogue : nil, biasOffset: panel * gemmMR)
                }
                k0 += kc
            }
            n0 += gemmNR
        }
    }
}

/// C tile (rows × columns ≤ MR × NR) = (accumulate ? C : 0) + A panel · B panel, then the epilogue if given.
@inline(__always)
func microKernel(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    rows: Int, columns: Int, accumulate: Bool, epilogue: Epilogue?, biasOffset: Int
) {
    typealias V = SIMD16<Float>
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
    var ap = a, bp = b
    for _ in 0..<depth {
        let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V.self)
        let b1 = UnsafeRawPointer(bp + 16).loadUnaligned(as: V.self)
        let a0 = V(repeating: ap[0]), a1 = V(repeating: ap[1]), a2 = V(repeating: ap[2]), a3 = V(repeating: ap[3])
        #if CONVC_FMA
            // Fused multiply-adds: only with a target CPU that has FMA (-target-cpu native), or each becomes a
            // call to fmaf. Swift never contracts `c += a * b` on its own.
            c00 = c00.addingProduct(a0, b0)
            c01 = c01.addingProduct(a0, b1)
            c10 = c10.addingProduct(a1, b0)
            c11 = c11.addingProduct(a1, b1)
            c20 = c20.addingProduct(a2, b0)
            c21 = c21.addingProduct(a2, b1)
            c30 = c30.addingProduct(a3, b0)
            c31 = c31.addingProduct(a3, b1)
        #else
            c00 += a0 * b0
            c01 += a0 * b1
            c10 += a1 * b0
            c11 += a1 * b1
            c20 += a2 * b0
            c21 += a2 * b1
            c30 += a3 * b0
            c31 += a3 * b1
        #endif
        ap += gemmMR
        bp += gemmNR
    }
    var tile = (c00, c01, c10, c11, c20, c21, c30, c31)
    withUnsafeMutableBytes(of: &tile) { raw in
        let values = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        for r in 0..<rows {
            let row = values + r * gemmNR
            let out = c + r * ldc
            if accumulate {
                for j in 0..<columns { row[j] += out[j] }
            }
            if let epilogue {
                let bias = epilogue.bias.map { $0[biasOffset + r] } ?? 0
                applyEpilogue(row, count: columns, bias: bias, activation: epilogue.activation)
            }
            out.update(from: row, count: columns)
        }
    }
}

@inline(__always)
func applyEpilogue(_ row: UnsafeMutablePointer<Float>, count: Int, bias: Float, activation: Epilogue.Activation) {
    switch activation {
    case .none:
        if bias != 0 { for j in 0..<count { row[j] += bias } }
    case .relu:
        for j in 0..<count { row[j] = max(row[j] + bias, 0) }
    case .relu6:
        for j in 0..<count { row[j] = min(max(row[j] + bias, 0), 6) }
    case .leakyReLU(let slope):
        for j in 0..<count {
            let v = row[j] + bias
            row[j] = v >= 0 ? v : v * slope
        }
    case .sigmoid:
        for j in 0..<count { row[j] = 1 / (1 + expf(-(row[j] + bias))) }
    case .tanh:
        for j in 0..<count { row[j] = tanhf(row[j] + bias) }
    case .silu:
        for j in 0..<count {
            let v = row[j] + bias
            row[j] = v / (1 + expf(-v))
        }
    case .hardswish:
        // PyTorch: x · min(max(x + 3, 0), 6) / 6
        for j in 0..<count {
            let v = row[j] + bias
            row[j] = v * min(max(v + 3, 0), 6) / 6
        }
    case .hardsigmoid:
        for j in 0..<count { row[j] = min(max(row[j] + bias + 3, 0), 6) / 6 }
    case .gelu:
        // PyTorch: x · 0.5 · (1 + erf(x / √2))
        for j in 0..<count {
            let v = row[j] + bias
            row[j] = v * 0.5 * (1 + erff(v * 0.70710678118654752))
        }
    case .geluTanh:
        // PyTorch's approximate='tanh': 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
        for j in 0..<count {
            let v = row[j] + bias
            row[j] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
        }
    }
}
