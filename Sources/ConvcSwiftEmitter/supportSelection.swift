// Which support declarations an emitted file carries: those its code names, and those they name in turn.

/// One member of the support extension, as the compiled source (`Sources/ConvcEmittedSupport`) writes it.
struct SupportDeclaration {
    /// The declared name (overloads share one); nil for a comment that introduces the members after it.
    var name: String?
    /// The member's lines, doc comment included.
    var text: String
    /// The identifiers its code (not its comments) uses.
    var references: Set<String>
}

/// The support extension's members, in source order. A member starts at a 4-space-indented line after a blank
/// one; its own blank lines are followed by deeper-indented code.
let supportDeclarations: [SupportDeclaration] = {
    var lines = emittedSupportSource.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // Drop `extension EmittedSupport {` and its closing brace.
    lines.removeFirst()
    while lines.last?.isEmpty == true { lines.removeLast() }
    lines.removeLast()
    var chunks: [[String]] = [[]]
    for (index, line) in lines.enumerated() {
        let startsMember = line.hasPrefix("    ") && !line.hasPrefix("     ") && !line.hasPrefix("    }")
        if startsMember, index > 0, lines[index - 1].isEmpty, !(chunks.last ?? []).isEmpty {
            chunks.append([])
        }
        chunks[chunks.count - 1].append(line)
    }
    return chunks.map { chunk in
        let code = chunk.filter { !$0.trimmingLeadingSpaces.hasPrefix("//") }
        let declaration = code.lazy.compactMap(declaredName(in:)).first
        return SupportDeclaration(
            name: declaration, text: chunk.joined(separator: "\n").trimmingTrailingNewlines,
            references: identifiers(in: code.joined(separator: "\n")))
    }
}()

/// The name a declaration line declares: `static func dot(` → `dot`, `public final class AlignedFloats` →
/// `AlignedFloats`.
func declaredName(in line: String) -> String? {
    let words = words(in: line)
    for (index, word) in words.enumerated().dropLast()
    where ["func", "struct", "class", "enum", "var", "let", "typealias"].contains(word) {
        return words[index + 1]
    }
    return nil
}

/// The identifier-like words of `text`, in order.
func words(in text: String) -> [String] {
    text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
}

/// Every identifier-like word of `text`.
func identifiers(in text: String) -> Set<String> { Set(words(in: text)) }

/// The support members `code` needs, transitively, in source order (a comment that introduces members comes with
/// the first of them), and whether they need the safetensors reader.
func selectSupport(for code: String) -> (declarations: [String], needsSafetensorsLayout: Bool) {
    var needed = identifiers(in: code)
    var changed = true
    while changed {
        changed = false
        for declaration in supportDeclarations {
            guard let name = declaration.name, needed.contains(name) else { continue }
            let added = declaration.references.subtracting(needed)
            if !added.isEmpty {
                needed.formUnion(added)
                changed = true
            }
        }
    }
    var selected: [String] = []
    var pendingIntroduction: String?
    for declaration in supportDeclarations {
        guard let name = declaration.name else {
            pendingIntroduction = declaration.text
            continue
        }
        guard needed.contains(name) else { continue }
        if let introduction = pendingIntroduction { selected.append(introduction) }
        pendingIntroduction = nil
        selected.append(declaration.text)
    }
    return (selected, needed.contains("SafetensorsLayout"))
}

extension String {
    var trimmingLeadingSpaces: Substring { drop { $0 == " " } }

    var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}

// Text search and replacement without Foundation, which the emitter does not import.
extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
