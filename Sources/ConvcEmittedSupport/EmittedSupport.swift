// The helpers every emitted file carries, as compiled and tested Swift. tools/embed_support.sh copies this file,
// from `extension EmittedSupport` on, into the emitter, which writes into each emitted type the declarations its
// code uses (`EmittedSupport` renamed to the type, so emitted files depend on nothing but Foundation and can
// share a module). Here `SafetensorsLayout` is ConvcTensorIO's; in an emitted file, its copy.

import ConvcTensorIO
import Foundation

/// The stand-in for an emitted model type.
public enum EmittedSupport {}

extension EmittedSupport {
    /// A missing or misshapen tensor, a damaged weights file, or an input of the wrong size.
    public struct WeightError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Why this build of the file runs slowly, or nil when it is optimised and has fused multiply-adds. The first
    /// model loaded prints it once to standard error, unless CONVC_QUIET is defined.
    public static var buildAdvice: String? {
        var advice: [String] = []
        var unoptimised = false
        assert({ unoptimised = true; return true }())  // an assert runs only in an unoptimised build
        if unoptimised {
            advice.append("it was compiled without optimisation, which runs it hundreds of times slower: build it with -O (swift build -c release, or a Release configuration in Xcode)")
        }
        #if !CONVC_FMA && !arch(arm64)
        advice.append("fused multiply-adds are off, which makes it about 3 times slower: compile it with -DCONVC_FMA and a target CPU that has them (-target-cpu haswell, or native for this machine only)")
        #endif
        return advice.isEmpty ? nil : "\(Self.self): " + advice.joined(separator: "; ") + " (docs/emitter.md; define CONVC_QUIET to silence this)"
    }

    static let printedBuildAdvice: Bool = {
        guard let advice = buildAdvice else { return false }
        FileHandle.standardError.write(Data(("warning: " + advice + "\n").utf8))
        return true
    }()

    /// Zeroed floats from a 64-byte boundary: the weights, and the arena for `predict`, so that no vector load
    /// straddles two cache lines. On Linux, buffers of 2 MiB and up also ask for huge pages (fewer TLB misses).
    public final class AlignedFloats: @unchecked Sendable {
        public let pointer: UnsafeMutablePointer<Float>
        public let count: Int

        public init(count: Int) {
            let page = 2 << 20
            let bytes = max(count, 1) &* 4
            let huge = bytes >= page
            let size = huge ? (bytes &+ page &- 1) / page &* page : bytes
            let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: huge ? page : 64)
            #if os(Linux)
            if huge { _ = madvise(raw, size, MADV_HUGEPAGE) }
            #endif
            pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: size / 4)
            self.count = count
        }

        public convenience init(copying values: [Float]) {
            self.init(count: values.count)
            values.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { pointer.update(from: base, count: source.count) }
            }
        }

        deinit { pointer.deallocate() }
    }

    /// The sum of `count` floats, sixteen lanes at a time.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var s = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= count {
            s += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            i &+= 16
        }
        var sum = s.sum()
        while i < count {
            sum += p[i]
            i &+= 1
        }
        return sum
    }

    /// A dot product with sixteen partial sums (a plain float reduction stays scalar).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= count {
            s += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i &+= 16
        }
        var sum = s.sum()
        while i < count {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// Four dot products at once, of rows `stride` apart with `b`: four weight streams in flight, one load of `b`
    /// for all four.
    @inline(__always)
    static func dot4(_ a: UnsafePointer<Float>, stride: Int, _ b: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        var (s0, s1, s2, s3) = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var i = 0
        while i &+ 16 <= count {
            let v = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            s0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self) * v
            s1 += UnsafeRawPointer(a + (stride &+ i)).loadUnaligned(as: SIMD16<Float>.self) * v
            s2 += UnsafeRawPointer(a + (2 &* stride &+ i)).loadUnaligned(as: SIMD16<Float>.self) * v
            s3 += UnsafeRawPointer(a + (3 &* stride &+ i)).loadUnaligned(as: SIMD16<Float>.self) * v
            i &+= 16
        }
        var sums = SIMD4(s0.sum(), s1.sum(), s2.sum(), s3.sum())
        while i < count {
            sums += SIMD4(a[i], a[stride &+ i], a[2 &* stride &+ i], a[3 &* stride &+ i]) * b[i]
            i &+= 1
        }
        return sums
    }

    /// Lets a non-escaping body run on several threads; each part writes its own range of the output.
    struct Unchecked<Value>: @unchecked Sendable {
        let value: Value
    }

    /// Runs `body` over 0 ..< count in parallel when `threads` is more than one: in up to four parts a thread,
    /// which the threads take in turn, because the calling thread starts at once and a worker tens of
    /// microseconds later.
    @inline(__always)
    static func parallel(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let parts = threads <= 1 ? 1 : max(1, min(4 &* threads, count))
        if parts == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = Unchecked(value: body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                work.value((count * part / parts)..<(count * (part + 1) / parts))
            }
        }
    }

    /// Sixteen values from `p`, `stride` apart; lanes at or past `available` read as zero.
    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>, stride: Int, available: Int) -> SIMD16<Float> {
        if stride == 1 && available >= 16 { return load16(p) }
        var v = SIMD16<Float>()
        for lane in 0..<min(16, available) { v[lane] = p[lane &* stride] }
        return v
    }

    /// Sixteen values two apart: two whole loads, even lanes kept (a stride-2 conv's row, without gathering).
    @inline(__always)
    static func loadEven16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: load16(p).evenHalf, highHalf: load16(p + 16).evenHalf)
    }

    /// a += b · v, fused into one multiply-add where the build allows it: on x86, define CONVC_FMA together with
    /// a target CPU that has FMA (-target-cpu haswell or native); without one, a fused multiply-add would be a
    /// call to fmaf. Every arm64 CPU has FMA.
    @inline(__always)
    static func multiplyAdd(_ a: inout SIMD16<Float>, _ b: Float, _ v: SIMD16<Float>) {
        #if CONVC_FMA || arch(arm64)
            a = a.addingProduct(SIMD16<Float>(repeating: b), v)
        #else
            a += SIMD16<Float>(repeating: b) * v
        #endif
    }

    /// a += b · v on eight lanes.
    @inline(__always)
    static func multiplyAdd(_ a: inout SIMD8<Float>, _ b: Float, _ v: SIMD8<Float>) {
        multiplyAdd(&a, SIMD8<Float>(repeating: b), v)
    }

    /// a += b · v lane by lane (an NCHWc depthwise tap: eight channels' inputs times their weights).
    @inline(__always)
    static func multiplyAdd(_ a: inout SIMD8<Float>, _ b: SIMD8<Float>, _ v: SIMD8<Float>) {
        #if CONVC_FMA || arch(arm64)
            a = a.addingProduct(b, v)
        #else
            a += b * v
        #endif
    }

    /// `v` plus the first `count` values at `r` (a fused residual add).
    @inline(__always)
    static func plus16(_ v: SIMD16<Float>, _ r: UnsafePointer<Float>, count: Int) -> SIMD16<Float> {
        v + load16(r, stride: 1, available: count)
    }

    /// `v` plus the eight values at `r`.
    @inline(__always)
    static func plus8(_ v: SIMD8<Float>, _ r: UnsafePointer<Float>, count: Int) -> SIMD8<Float> {
        v + UnsafeRawPointer(r).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// `v` plus the values of `r` at the output places of flat positions from (row, column) on (a fused residual
    /// add where a chunk crosses a row's end).
    @inline(__always)
    static func plusFlat<V: SIMD>(_ v: V, _ r: UnsafePointer<Float>, row: Int, column: Int, width: Int, columns: Int, end: Int) -> V where V.Scalar == Float {
        v + gatherFlat(r, row: row, column: column, width: width, columns: columns, end: end)
    }

    /// The values at the output places of flat positions from (row, column) on, zero where a lane is no output pixel.
    @inline(never)
    static func gatherFlat<V: SIMD>(_ r: UnsafePointer<Float>, row: Int, column: Int, width: Int, columns: Int, end: Int) -> V where V.Scalar == Float {
        var v = V()
        var row = row, column = column
        for lane in 0..<V.scalarCount {
            if column < width && row &* columns &+ column < end { v[lane] = r[row &* width &+ column] }
            column &+= 1
            if column == columns { column = 0; row &+= 1 }
        }
        return v
    }

    /// Stores the lanes of flat positions from (row, column) on that are output pixels at their dense places.
    @inline(never)
    static func scatterFlat<V: SIMD>(_ v: V, to y: UnsafeMutablePointer<Float>, row: Int, column: Int, width: Int, columns: Int, end: Int) where V.Scalar == Float {
        var row = row, column = column
        for lane in 0..<V.scalarCount {
            if column < width && row &* columns &+ column < end { y[row &* width &+ column] = v[lane] }
            column &+= 1
            if column == columns { column = 0; row &+= 1 }
        }
    }

    /// Writes the first `count` lanes. A partial store goes through memory: extracting lanes one by one would
    /// make the optimiser keep every accumulator in pieces.
    @inline(__always)
    static func store16(_ v: SIMD16<Float>, to p: UnsafeMutablePointer<Float>, count: Int) {
        if count == 16 {
            store(v, to: p)
        } else {
            withUnsafeBytes(of: v) { p.update(from: $0.baseAddress!.assumingMemoryBound(to: Float.self), count: count) }
        }
    }

    /// Whole vectors to and from memory, in calls that type-check faster than the raw-pointer expressions.
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// An activation applied lane by lane to a vector of either width (eight with --target avx2, sixteen with avx512).
    @inline(__always)
    static func activate<V: SIMD>(_ v: V, _ f: (Float) -> Float) -> V where V.Scalar == Float {
        var result = v
        for lane in v.indices { result[lane] = f(v[lane]) }
        return result
    }

    /// y[i] = y[i] + r[i] for i in start ..< end, then max(·, 0) if `relu`: a fused residual add on a stretch of an
    /// output plane, eight values at a time.
    @inline(__always)
    static func addResidual(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, from start: Int, to end: Int, relu: Bool) {
        var i = start
        while i &+ 8 <= end {
            let v = load8(y + i) + load8(r + i)
            store(relu ? Self.relu(v) : v, to: y + i)
            i &+= 8
        }
        while i < end {
            let v = y[i] + r[i]
            y[i] = relu ? (v < 0 ? 0 : v) : v
            i &+= 1
        }
    }

    /// max(v, 0) lane by lane, NaN kept (as PyTorch's relu). Not pointwiseMax: the standard library calls its
    /// own compiled copy of that, out of line: a call per vector.
    @inline(__always)
    static func relu(_ v: SIMD8<Float>) -> SIMD8<Float> {
        v.replacing(with: SIMD8<Float>(), where: v .< SIMD8<Float>())
    }

    @inline(__always)
    static func relu(_ v: SIMD16<Float>) -> SIMD16<Float> {
        v.replacing(with: SIMD16<Float>(), where: v .< SIMD16<Float>())
    }

    /// min(max(v, 0), 6) lane by lane, NaN kept.
    @inline(__always)
    static func relu6(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let r = relu(v)
        return r.replacing(with: SIMD8<Float>(repeating: 6), where: r .> SIMD8<Float>(repeating: 6))
    }

    @inline(__always)
    static func relu6(_ v: SIMD16<Float>) -> SIMD16<Float> {
        let r = relu(v)
        return r.replacing(with: SIMD16<Float>(repeating: 6), where: r .> SIMD16<Float>(repeating: 6))
    }

    // Concrete vector types throughout: the generic `SIMD` forms of these ran lane by lane, 26 times slower.

    /// relu6(v + 3) / 6 lane by lane, NaN kept (PyTorch's Hardsigmoid).
    @inline(__always)
    static func hardsigmoid(_ v: SIMD8<Float>) -> SIMD8<Float> {
        hardswishGate(v) / SIMD8<Float>(repeating: 6)
    }

    @inline(__always)
    static func hardsigmoid(_ v: SIMD16<Float>) -> SIMD16<Float> {
        hardswishGate(v) / SIMD16<Float>(repeating: 6)
    }

    /// v · relu6(v + 3) / 6 lane by lane, in PyTorch's order of operations (its Hardswish), NaN kept.
    @inline(__always)
    static func hardswish(_ v: SIMD8<Float>) -> SIMD8<Float> {
        v * hardswishGate(v) / SIMD8<Float>(repeating: 6)
    }

    @inline(__always)
    static func hardswish(_ v: SIMD16<Float>) -> SIMD16<Float> {
        v * hardswishGate(v) / SIMD16<Float>(repeating: 6)
    }

    /// min(max(v + 3, 0), 6) lane by lane, NaN kept.
    @inline(__always)
    static func hardswishGate(_ v: SIMD8<Float>) -> SIMD8<Float> {
        relu6(v + SIMD8<Float>(repeating: 3))
    }

    @inline(__always)
    static func hardswishGate(_ v: SIMD16<Float>) -> SIMD16<Float> {
        relu6(v + SIMD16<Float>(repeating: 3))
    }

    /// e^x lane by lane, within about an ulp: 2^n · e^r with n = round(x / ln 2) (by the 1.5 · 2²³ trick, whose
    /// low bits are n), r = x − n · ln 2 in two parts, e^r a degree-7 polynomial (Cephes' expf). Inputs are clamped
    /// to the range where e^x is a normal float; NaN stays NaN.
    @inline(__always)
    static func exponential(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let high = SIMD8<Float>(repeating: 88.3762626647949), low = SIMD8<Float>(repeating: -87.3365447504)
        let clamped = x.replacing(with: high, where: x .> high).replacing(with: low, where: x .< low)
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = clamped * SIMD8<Float>(repeating: 1.44269504088896341) + magic
        let n = shifted - magic
        let r = clamped - n * SIMD8<Float>(repeating: 0.693359375) - n * SIMD8<Float>(repeating: -2.12194440e-4)
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + SIMD8<Float>(repeating: 1.3981999507e-3)
        p = p * r + SIMD8<Float>(repeating: 8.3334519073e-3)
        p = p * r + SIMD8<Float>(repeating: 4.1665795894e-2)
        p = p * r + SIMD8<Float>(repeating: 1.6666665459e-1)
        p = p * r + SIMD8<Float>(repeating: 5.0000001201e-1)
        p = p * (r * r) + r + SIMD8<Float>(repeating: 1)
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (p * scale).replacing(with: x, where: x .!= x)
    }

    /// 1 / (1 + e^−v) lane by lane (PyTorch's Sigmoid).
    @inline(__always)
    static func sigmoid(_ v: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8<Float>(repeating: 1) / (SIMD8<Float>(repeating: 1) + exponential(-v))
    }

    /// v / (1 + e^−v) lane by lane (PyTorch's SiLU).
    @inline(__always)
    static func silu(_ v: SIMD8<Float>) -> SIMD8<Float> {
        v / (SIMD8<Float>(repeating: 1) + exponential(-v))
    }

    /// e^x lane by lane, within about an ulp: 2^n · e^r with n = round(x / ln 2) (by the 1.5 · 2²³ trick, whose
    /// low bits are n), r = x − n · ln 2 in two parts, e^r a degree-7 polynomial (Cephes' expf). Inputs are clamped
    /// to the range where e^x is a normal float; NaN stays NaN.
    @inline(__always)
    static func exponential(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let high = SIMD16<Float>(repeating: 88.3762626647949), low = SIMD16<Float>(repeating: -87.3365447504)
        let clamped = x.replacing(with: high, where: x .> high).replacing(with: low, where: x .< low)
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let shifted = clamped * SIMD16<Float>(repeating: 1.44269504088896341) + magic
        let n = shifted - magic
        let r = clamped - n * SIMD16<Float>(repeating: 0.693359375) - n * SIMD16<Float>(repeating: -2.12194440e-4)
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = p * r + SIMD16<Float>(repeating: 1.3981999507e-3)
        p = p * r + SIMD16<Float>(repeating: 8.3334519073e-3)
        p = p * r + SIMD16<Float>(repeating: 4.1665795894e-2)
        p = p * r + SIMD16<Float>(repeating: 1.6666665459e-1)
        p = p * r + SIMD16<Float>(repeating: 5.0000001201e-1)
        p = p * (r * r) + r + SIMD16<Float>(repeating: 1)
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
        return (p * scale).replacing(with: x, where: x .!= x)
    }

    /// 1 / (1 + e^−v) lane by lane (PyTorch's Sigmoid).
    @inline(__always)
    static func sigmoid(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16<Float>(repeating: 1) / (SIMD16<Float>(repeating: 1) + exponential(-v))
    }

    /// v / (1 + e^−v) lane by lane (PyTorch's SiLU).
    @inline(__always)
    static func silu(_ v: SIMD16<Float>) -> SIMD16<Float> {
        v / (SIMD16<Float>(repeating: 1) + exponential(-v))
    }

    /// Lane by lane the larger of `a` and `b`, NaN winning (PyTorch's max pooling).
    @inline(__always)
    static func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: (a .< b) .| (b .!= b))
    }

    /// Copies (channels, height, width) into a zero-filled (channels, rows, columns) buffer, at (top, left).
    /// Only the border is filled: each value is written once.
    static func pad(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int, into s: UnsafeMutablePointer<Float>) {
        let right = columns &- left &- width
        for c in 0..<channels {
            let plane = s + c &* rows &* columns
            plane.update(repeating: 0, count: top &* columns)
            for h in 0..<height {
                let row = plane + (top &+ h) &* columns
                row.update(repeating: 0, count: left)
                (row + left).update(from: x + (c &* height &+ h) &* width, count: width)
                (row + (left &+ width)).update(repeating: 0, count: right)
            }
            (plane + (top &+ height) &* columns).update(repeating: 0, count: (rows &- top &- height) &* columns)
        }
    }

    /// `pad` with the channels split over threads.
    static func pad(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int, into s: UnsafeMutablePointer<Float>, threads: Int) {
        parallel(channels, threads: threads) { part in
            pad(x + part.lowerBound &* height &* width, channels: part.count, height: height, width: width, top: top, left: left, rows: rows, columns: columns, into: s + part.lowerBound &* rows &* columns)
        }
    }

    /// Copies every `stride`-th pixel of every `stride`-th row of (channels, height, width) into (channels, rows,
    /// outputWidth), rows past `outputHeight` zero: the pixels a strided 1×1 conv reads, made compact.
    static func subsample(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, stride: (Int, Int), rows: Int, outputHeight: Int, outputWidth: Int, into s: UnsafeMutablePointer<Float>, threads: Int) {
        parallel(channels, threads: threads) { part in
            for c in part {
                let plane = s + c &* rows &* outputWidth
                for oh in 0..<outputHeight {
                    let source = x + (c &* height &+ oh &* stride.0) &* width
                    let target = plane + oh &* outputWidth
                    for ow in 0..<outputWidth { target[ow] = source[ow &* stride.1] }
                }
                (plane + outputHeight &* outputWidth).update(repeating: 0, count: (rows &- outputHeight) &* outputWidth)
            }
        }
    }

    /// `padPhases` with the channels split over threads.
    static func padPhases(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int, into s: UnsafeMutablePointer<Float>, threads: Int) {
        parallel(channels, threads: threads) { part in
            padPhases(x + part.lowerBound &* height &* width, channels: part.count, height: height, width: width, top: top, left: left, rows: rows, columns: columns, into: s + part.lowerBound &* 4 &* rows &* columns)
        }
    }

    /// Copies (channels, height, width) at (top, left) of a zero-padded image into four phase planes per channel,
    /// (channels, 2, 2, rows, columns): padded pixel (r, c) goes to phase (r % 2, c % 2) at (r / 2, c / 2), so a
    /// stride-2 conv reads its taps as stride-1 rows. Each row goes through a padded line split into even and odd
    /// lanes.
    static func padPhases(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int, into s: UnsafeMutablePointer<Float>) {
        let plane = rows &* columns
        s.update(repeating: 0, count: channels &* 4 &* plane)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 &* columns &+ 32) { buffer in
            let line = buffer.baseAddress!
            line.update(repeating: 0, count: 2 &* columns &+ 32)
            for c in 0..<channels {
                for h in 0..<height {
                    let r = h &+ top
                    (line + left).update(from: x + (c &* height &+ h) &* width, count: width)
                    let even = s + ((c &* 4 &+ (r & 1) &* 2) &* plane &+ (r >> 1) &* columns)
                    var k = 0
                    while k < columns {
                        let v = UnsafeRawPointer(line + 2 &* k).loadUnaligned(as: SIMD32<Float>.self)
                        let count = min(16, columns &- k)
                        store16(v.evenHalf, to: even + k, count: count)
                        store16(v.oddHalf, to: even + (plane &+ k), count: count)
                        k &+= 16
                    }
                }
            }
        }
    }

    // The loading helpers stay out of line: inlined into a large network's init, they cost the optimiser seconds.

    /// Rearranges conv weights from (filters, channels, taps) to blocks of 32 filters, channel-major:
    /// (filters / 32, channels, taps, 32), so one load gives sixteen filters' weights for a channel and tap.
    @inline(never)
    static func vectorFilters(_ p: inout [Float], at offset: Int, filters: Int, channels: Int, taps: Int) {
        let plain = Array(p[offset..<(offset + filters * channels * taps)])
        for b in 0..<(filters / 32) {
            for c in 0..<channels {
                for t in 0..<taps {
                    for r in 0..<32 {
                        p[offset + ((b * channels + c) * taps + t) * 32 + r] = plain[((b * 32 + r) * channels + c) * taps + t]
                    }
                }
            }
        }
    }

    /// Transforms 3×3 conv weights (filters, channels, 3, 3) to Winograd F(2×2, 3×3)'s domain, U = G g Gᵀ with
    /// G = (1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1), stored (16 values, filters / 16, channels, 16): a product reads the
    /// sixteen filters of a block for one value and channel as two vectors. Computed in Double.
    @inline(never)
    static func winogradFilters(_ p: inout [Float], at offset: Int, filters: Int, channels: Int) {
        let plain = Array(p[offset..<(offset + filters * channels * 9)])
        let blocks = filters / 16
        for k in 0..<filters {
            for c in 0..<channels {
                let g = (k * channels + c) * 9
                // G v for a column (or row) of three values.
                func g3(_ x0: Double, _ x1: Double, _ x2: Double) -> [Double] { [x0, (x0 + x1 + x2) / 2, (x0 - x1 + x2) / 2, x2] }
                // Column j of G g, then row i of (G g) Gᵀ.
                let columns = (0..<3).map { j in g3(Double(plain[g + j]), Double(plain[g + 3 + j]), Double(plain[g + 6 + j])) }
                for i in 0..<4 {
                    let transformed = g3(columns[0][i], columns[1][i], columns[2][i])
                    for j in 0..<4 {
                        p[offset + (((4 * i + j) * blocks + k / 16) * channels + c) * 16 + k % 16] = Float(transformed[j])
                    }
                }
            }
        }
    }

    /// Rearranges depthwise weights from (channels, taps) to (channels / 8, taps, 8): an NCHWc depthwise conv
    /// multiplies a pixel's eight channels by one tap's eight weights at once.
    @inline(never)
    static func interleaveTaps(_ p: inout [Float], at offset: Int, channels: Int, taps: Int) {
        let plain = Array(p[offset..<(offset + channels * taps)])
        for c in 0..<channels {
            for t in 0..<taps {
                p[offset + ((c / 8) * taps + t) * 8 + c % 8] = plain[c * taps + t]
            }
        }
    }

    /// Rearranges conv weights from (filters, channels, taps) to blocks of `block` filters, tap-major:
    /// (groups · blocks, taps, channels, block), zero filling each group's last block, so the inner loop reads the
    /// block's weights for one channel and tap from one place.
    @inline(never)
    static func blockFilters(_ p: inout [Float], at offset: Int, filters: Int, groups: Int, channels: Int, taps: Int, block: Int) {
        let plain = Array(p[offset..<(offset + filters * channels * taps)])
        let perGroup = filters / groups, blocks = (perGroup + block - 1) / block
        for g in 0..<groups {
            for b in 0..<blocks {
                for t in 0..<taps {
                    for c in 0..<channels {
                        for r in 0..<block {
                            let filter = b * block + r
                            p[offset + ((((g * blocks + b) * taps + t) * channels + c) * block) + r] =
                                filter < perGroup ? plain[((g * perGroup + filter) * channels + c) * taps + t] : 0
                        }
                    }
                }
            }
        }
    }

    /// Rows of a metadata table: name, kind (which may hold single spaces), output shape, parameters. A table in
    /// a string literal compiles much faster than an array literal of tuples.
    static func layerTable(_ text: String) -> [(name: String, kind: String, outputShape: [Int], parameters: Int)] {
        text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            let kind = fields[1..<(fields.count - 2)].joined(separator: " ")
            return (String(fields[0]), kind, shape(fields[fields.count - 2]), Int(fields[fields.count - 1])!)
        }
    }

    /// Rows of a table of tensor names and shapes.
    static func tensorTable(_ text: String) -> [(name: String, shape: [Int])] {
        text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            return (String(fields[0]), shape(fields[1]))
        }
    }

    /// `64×3×7×7` as [64, 3, 7, 7]; `[]` as [].
    static func shape(_ text: Substring) -> [Int] { text.split(separator: "×").compactMap { Int($0) } }

    @inline(never)
    static func tensor(_ tensors: [String: [Float]], _ name: String, count: Int) throws -> [Float] {
        guard let values = tensors[name] else { throw WeightError("missing tensor '\(name)'") }
        guard values.count == count else {
            throw WeightError("tensor '\(name)' has \(values.count) values, but the spec needs \(count)")
        }
        return values
    }

    @inline(never)
    static func copy(_ tensors: [String: [Float]], _ name: String, into p: inout [Float], at offset: Int, count: Int) throws {
        let values = try tensor(tensors, name, count: count)
        for i in 0..<count { p[offset + i] = values[i] }
    }

    /// The taps `rows` × `columns` of each of `kernels` stored kernels (kh × kw): a conv's taps that read the input.
    @inline(never)
    static func copyLiveTaps(_ tensors: [String: [Float]], _ name: String, into p: inout [Float], at offset: Int, kernels: Int, kernel: (h: Int, w: Int), rows: Range<Int>, columns: Range<Int>) throws {
        let values = try tensor(tensors, name, count: kernels * kernel.h * kernel.w)
        var target = offset
        for k in 0..<kernels {
            for row in rows {
                for column in columns {
                    p[target] = values[(k * kernel.h + row) * kernel.w + column]
                    target += 1
                }
            }
        }
    }

    @inline(never)
    static func copySlopes(_ tensors: [String: [Float]], _ name: String, into p: inout [Float], at offset: Int, channels: Int, perChannel: Bool) throws {
        let values = try tensor(tensors, name, count: perChannel ? channels : 1)
        for c in 0..<channels { p[offset + c] = values[perChannel ? c : 0] }
        for c in 0..<channels { p[offset + channels + c] = 0 }
    }

    /// Scale and shift of an inference batch norm: γ / √(var + ε) and β − mean · scale.
    @inline(never)
    static func batchNormFactors(_ tensors: [String: [Float]], _ name: String, epsilon: Double, channels: Int) throws -> (scale: [Float], shift: [Float]) {
        let gamma = try tensor(tensors, name + ".weight", count: channels), beta = try tensor(tensors, name + ".bias", count: channels)
        let mean = try tensor(tensors, name + ".running_mean", count: channels), variance = try tensor(tensors, name + ".running_var", count: channels)
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(beta[c]) - Double(mean[c]) * s)
        }
        return (scale, shift)
    }

    @inline(never)
    static func batchNormAffine(_ tensors: [String: [Float]], _ name: String, epsilon: Double, into p: inout [Float], scale: Int, shift: Int, channels: Int) throws {
        let factors = try batchNormFactors(tensors, name, epsilon: epsilon, channels: channels)
        for c in 0..<channels {
            p[scale + c] = factors.scale[c]
            p[shift + c] = factors.shift[c]
        }
    }

    /// Folds a batch norm into the layer before it: each output channel's weights scaled, its bias scaled and shifted.
    @inline(never)
    static func foldBatchNorm(_ tensors: [String: [Float]], _ name: String, epsilon: Double, into p: inout [Float], weight: Int, bias: Int, channels: Int, blocks: Int, blockStride: Int, channelStride: Int, run: Int) throws {
        let factors = try batchNormFactors(tensors, name, epsilon: epsilon, channels: channels)
        for c in 0..<channels {
            for i in 0..<run { p[weight + c * channelStride + i] *= factors.scale[c] }
            p[bias + c] = p[bias + c] * factors.scale[c] + factors.shift[c]
        }
    }

    /// The same for a transposed conv, whose weight is (in, out / groups, kh, kw).
    @inline(never)
    static func foldBatchNormTransposed(_ tensors: [String: [Float]], _ name: String, epsilon: Double, into p: inout [Float], weight: Int, bias: Int, inChannels: Int, outPerGroup: Int, groups: Int, taps: Int) throws {
        let channels = outPerGroup * groups
        let factors = try batchNormFactors(tensors, name, epsilon: epsilon, channels: channels)
        let inPerGroup = inChannels / groups
        for ic in 0..<inChannels {
            for o in 0..<outPerGroup {
                let s = factors.scale[(ic / inPerGroup) * outPerGroup + o]
                for t in 0..<taps { p[weight + (ic * outPerGroup + o) * taps + t] *= s }
            }
        }
        for c in 0..<channels { p[bias + c] = p[bias + c] * factors.scale[c] + factors.shift[c] }
    }

    /// Layer norm over the channels of each pixel (PyTorch's LayerNorm on channels-last values): the mean, then the
    /// biased variance, accumulated a contiguous plane at a time; weight w[c], bias w[channels + c].
    @inline(__always)
    static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, channels: Int, plane: Int, epsilon: Float) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * plane) { buffer in
            let mean = buffer.baseAddress!, scale = mean + plane
            mean.initialize(repeating: 0, count: 2 * plane)
            for c in 0..<channels {
                let row = x + c * plane
                for i in 0..<plane { mean[i] += row[i] }
            }
            for i in 0..<plane { mean[i] /= Float(channels) }
            for c in 0..<channels {
                let row = x + c * plane
                for i in 0..<plane {
                    let d = row[i] - mean[i]
                    scale[i] += d * d
                }
            }
            for i in 0..<plane { scale[i] = 1 / (scale[i] / Float(channels) + epsilon).squareRoot() }
            for c in 0..<channels {
                let row = x + c * plane, out = y + c * plane
                let g = w[c], b = w[channels + c]
                for i in 0..<plane { out[i] = (row[i] - mean[i]) * scale[i] * g + b }
            }
        }
    }

    /// Nearest upsampling of `channels` planes: output index o reads min(⌊o · scale⌋, in − 1) on each axis,
    /// PyTorch's `nearest` in its Float arithmetic.
    @inline(__always)
    static func upsampleNearest(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels: Int, input: (h: Int, w: Int), output: (h: Int, w: Int), scale: (h: Float, w: Float)) {
        func sources(_ count: Int, from size: Int, _ scale: Float) -> [Int] {
            (0..<count).map { count == size ? $0 : min(Int((Float($0) * scale).rounded(.down)), size - 1) }
        }
        let rows = sources(output.h, from: input.h, scale.h), columns = sources(output.w, from: input.w, scale.w)
        for c in 0..<channels {
            for oh in 0..<output.h {
                let source = x + (c * input.h + rows[oh]) * input.w, row = y + (c * output.h + oh) * output.w
                for ow in 0..<output.w { row[ow] = source[columns[ow]] }
            }
        }
    }

    /// Bilinear upsampling of `channels` planes, PyTorch's coordinates: output index o reads source
    /// max(scale · (o + ½) − ½, 0), or scale · o with aligned corners. Rows are blended first (contiguous), then
    /// each output pixel from two values of the blended row.
    @inline(__always)
    static func upsampleBilinear(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels: Int, input: (h: Int, w: Int), output: (h: Int, w: Int), scale: (h: Float, w: Float), alignCorners: Bool) {
        func taps(_ count: Int, from size: Int, _ scale: Float) -> (lower: [Int], upper: [Int], weight: [Float]) {
            var lower: [Int] = [], upper: [Int] = [], weight: [Float] = []
            for o in 0..<count {
                let source = alignCorners ? scale * Float(o) : max(scale * (Float(o) + 0.5) - 0.5, 0)
                let l = min(Int(source.rounded(.down)), size - 1)
                lower.append(l)
                upper.append(l < size - 1 ? l + 1 : l)
                weight.append(min(max(source - Float(l), 0), 1))
            }
            return (lower, upper, weight)
        }
        let rows = taps(output.h, from: input.h, scale.h), columns = taps(output.w, from: input.w, scale.w)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: input.w) { blended in
            for c in 0..<channels {
                for oh in 0..<output.h {
                    let above = x + (c * input.h + rows.lower[oh]) * input.w, below = x + (c * input.h + rows.upper[oh]) * input.w
                    let t = rows.weight[oh]
                    for w in 0..<input.w { blended[w] = above[w] + t * (below[w] - above[w]) }
                    let row = y + (c * output.h + oh) * output.w
                    for ow in 0..<output.w {
                        let a = blended[columns.lower[ow]], b = blended[columns.upper[ow]]
                        row[ow] = a + columns.weight[ow] * (b - a)
                    }
                }
            }
        }
    }

    /// Reads the tensors the model needs from a safetensors file, checked whole by `SafetensorsLayout` (below):
    /// memory-mapped, and only from a regular file, whose size bounds every allocation.
    static func readSafetensors(_ url: URL, prefix: String?, checking shapes: [(name: String, shape: [Int])]) throws -> [String: [Float]] {
        let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
        guard type == .typeRegular else { throw WeightError("cannot read '\(url.path)': it is not a regular file") }
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        do {
            return try data.withUnsafeBytes { (file: UnsafeRawBufferPointer) throws(SafetensorsLayout.Failure) in
                let layout = try SafetensorsLayout(file)
                let prefix = prefix ?? layout.namePrefix(for: shapes.map(\.name)) ?? ""
                var tensors: [String: [Float]] = [:]
                for (name, shape) in shapes { tensors[name] = try layout.floats(prefix + name, shape: shape, in: file) }
                return tensors
            }
        } catch let failure as SafetensorsLayout.Failure {
            throw WeightError(failure.description)
        }
    }
}
