// "did you mean …?": the closest known spelling by edit distance.

/// Levenshtein distance between two strings, compared by Unicode scalars.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    guard word.count <= 64 else { return nil }
    let limit = max(2, word.count / 3)
    let lowered = word.lowercased()
    let length = lowered.unicodeScalars.count
    var best: (String, Int)?
    for candidate in candidates {
        // Lengths that differ by more than the limit cannot be within it (a million names stay quick).
        guard abs(candidate.unicodeScalars.count - length) <= limit else { continue }
        let distance = editDistance(lowered, candidate.lowercased())
        if distance <= limit, best == nil || distance < best!.1 { best = (candidate, distance) }
    }
    if let best { return best.0 }
    // `basic_block` for `basic`, `conv2d` for `conv`: one name extends the other.
    return candidates.filter { candidate in
        let other = candidate.lowercased()
        return min(other.count, lowered.count) >= 3 && (lowered.hasPrefix(other) || other.hasPrefix(lowered))
    }.max { $0.count < $1.count }
}

/// `; did you mean 'x'?` or nothing.
public func didYouMean(_ word: String, in candidates: some Sequence<String>) -> String {
    closestMatch(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
}
