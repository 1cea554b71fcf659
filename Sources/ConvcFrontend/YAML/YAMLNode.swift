// The YAML tree as libyaml reads it, every node carrying the place it starts.

import ConvcDiagnostics

/// A YAML node with its source location. Aliases share the anchored node (no copies, so no alias bombs).
public final class YAMLNode: Sendable {
    public enum Content: Sendable {
        /// A scalar; `plain` is false for quoted or block scalars, which are always strings.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public let content: Content
    public let location: SourceLocation

    public init(_ content: Content, at location: SourceLocation) {
        self.content = content
        self.location = location
    }

    /// A plain `~`, `null`, `Null`, `NULL` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let text, plain: true) = content {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    public var scalar: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// What a diagnostic calls this node's type.
    public var typeDescription: String {
        switch content {
        case .scalar(let text, let plain):
            if isNull { return "null" }
            if plain, Int(text) != nil { return text }
            if plain, !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }) {
                return "an integer too large for 64 bits"
            }
            if plain, Double(text) != nil { return text }
            return "'\(text.count > 40 ? String(text.prefix(40)) + "…" : text)'"
        case .sequence(let items): return "a list of \(items.count)"
        case .mapping: return "a mapping"
        }
    }
}
