// A seeded random source whose stream is the same on every platform and Swift version, unlike
// SystemRandomNumberGenerator (unseeded) or the standard library's `random(in:)` algorithms (free to change).

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Aims at reproducibility: a failing
/// differential test is replayed from its seed alone, so every draw here is integer arithmetic with a fixed
/// algorithm (no `Double` draws, no standard-library sampling).
struct SeededRandom: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// The next value without advancing.
    func peek() -> UInt64 {
        var copy = self
        return copy.next()
    }

    /// Uniform in 0..<bound (Lemire's multiply-shift with rejection, so no modulo bias).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        while true {
            let product = next().multipliedFullWidth(by: b)
            if product.low >= (0 &- b) % b { return Int(product.high) }
        }
    }

    /// Uniform in the closed range.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// An item chosen with integer weights.
    mutating func weighted<T>(_ items: [(T, Int)]) -> T {
        let total = items.reduce(0) { $0 + max($1.1, 0) }
        precondition(total > 0)
        var roll = below(total)
        for (item, weight) in items where weight > 0 {
            if roll < weight { return item }
            roll -= weight
        }
        return items[items.count - 1].0
    }

    /// Fisher–Yates, with this generator's draws.
    mutating func shuffled<T>(_ items: [T]) -> [T] {
        var items = items
        var i = items.count - 1
        while i > 0 {
            items.swapAt(i, below(i + 1))
            i -= 1
        }
        return items
    }
}
