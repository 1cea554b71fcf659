// Reads YAML text into `YAMLNode`s with libyaml's event parser, keeping libyaml's marks.

import CYAML
import ConvcDiagnostics

/// Limits that keep hostile input from exhausting the stack or memory.
enum YAMLLimits {
    static let maximumDepth = 64
}

/// Parses a single YAML document. Reports syntax errors at libyaml's position, an empty file, several documents,
/// and nesting deeper than `YAMLLimits.maximumDepth`; returns nil when there is nothing to check.
func parseYAML(_ text: String, file: String, diagnostics: inout DiagnosticEngine) -> YAMLNode? {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else {
        diagnostics.error("cannot initialise the YAML parser", at: nil)
        return nil
    }
    defer { yaml_parser_delete(&parser) }

    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buffer -> YAMLNode? in
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var builder = TreeBuilder(file: file)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let mark = parser.problem_mark
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = parser.context.map { String(cString: $0) }
                var notes: [Note] = []
                if let context {
                    notes.append(Note(context, at: builder.location(parser.context_mark)))
                    let lines = [builder.location(mark).line, builder.location(parser.context_mark).line]
                    if context.contains("flow"), let note = lines.lazy.compactMap({ unquotedSubstitution(in: text, line: $0, file: file) }).first {
                        notes.append(note)
                    }
                }
                diagnostics.error(
                    "YAML syntax error: \(problem)", category: "YAMLSyntax", at: builder.location(mark), notes: notes)
                return nil
            }
            defer { yaml_event_delete(&event) }
            switch builder.consume(&event) {
            case .continue: continue
            case .done:
                if builder.documentCount == 0 {
                    diagnostics.error(
                        "the spec is empty; expected a mapping with 'input' and 'layers'", category: "EmptySpec",
                        at: SourceLocation(file: file, line: 1, column: 1))
                    return nil
                }
                return builder.root
            case .failure(let message, let location):
                diagnostics.error(message, category: "YAMLSyntax", at: location)
                return nil
            }
        }
    }
}

private struct TreeBuilder {
    enum Step {
        case `continue`, done
        case failure(String, SourceLocation)
    }

    /// A collection being filled: its start mark and the nodes read so far.
    struct Open {
        var isMapping: Bool
        var location: SourceLocation
        var anchor: String?
        var items: [YAMLNode] = []
    }

    let file: String
    var stack: [Open] = []
    var anchors: [String: YAMLNode] = [:]
    var root: YAMLNode?
    var documentCount = 0

    init(file: String) { self.file = file }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    mutating func consume(_ event: inout yaml_event_t) -> Step {
        let start = location(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return .done
        case YAML_DOCUMENT_START_EVENT:
            documentCount += 1
            if documentCount > 1 {
                return .failure(
                    "the spec has more than one YAML document; put one model in each file", start)
            }
        case YAML_SCALAR_EVENT:
            let value = String(
                decoding: UnsafeBufferPointer(start: event.data.scalar.value, count: event.data.scalar.length),
                as: UTF8.self)
            let plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
            let node = YAMLNode(.scalar(value, plain: plain), at: start)
            if let anchor = string(event.data.scalar.anchor) { anchors[anchor] = node }
            add(node)
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else { return .failure("unknown YAML alias '*\(name)'", start) }
            add(node)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard stack.count < YAMLLimits.maximumDepth else {
                return .failure("the spec is nested more than \(YAMLLimits.maximumDepth) levels deep", start)
            }
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = isMapping ? string(event.data.mapping_start.anchor) : string(event.data.sequence_start.anchor)
            stack.append(Open(isMapping: isMapping, location: start, anchor: anchor))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let open = stack.removeLast()
            let node: YAMLNode
            if open.isMapping {
                var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                var index = 0
                while index + 1 < open.items.count {
                    pairs.append((open.items[index], open.items[index + 1]))
                    index += 2
                }
                node = YAMLNode(.mapping(pairs), at: open.location)
            } else {
                node = YAMLNode(.sequence(open.items), at: open.location)
            }
            if let anchor = open.anchor { anchors[anchor] = node }
            add(node)
        default:
            break
        }
        return .continue
    }

    private mutating func add(_ node: YAMLNode) {
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].items.append(node)
        }
    }
}

/// A note for a `${…}` substitution written unquoted on `line`: inside `{ … }` or `[ … ]`, YAML reads its brace as
/// the start of a nested mapping, so the value must be quoted (`name: "block${i + 1}"`).
func unquotedSubstitution(in text: String, line: Int, file: String) -> Note? {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard line >= 1, line <= lines.count else { return nil }
    let scalars = Array(lines[line - 1].unicodeScalars)
    guard let dollar = scalars.indices.dropLast().first(where: { scalars[$0] == "$" && scalars[$0 + 1] == "{" }) else {
        return nil
    }
    let separators = Set(":,[{ \t".unicodeScalars)
    var start = dollar
    while start > 0, !separators.contains(scalars[start - 1]) { start -= 1 }
    var end = dollar + 2
    while end < scalars.count, scalars[end] != "}" { end += 1 }
    end = min(end + 1, scalars.count)
    let terminators = Set(",]} \t".unicodeScalars)
    while end < scalars.count, !terminators.contains(scalars[end]) { end += 1 }
    let value = String(String.UnicodeScalarView(scalars[start..<end]))
    return Note(
        "inside { … } or [ … ], a value with ${…} must be quoted: \"\(value)\"",
        at: SourceLocation(file: file, line: line, column: start + 1))
}
