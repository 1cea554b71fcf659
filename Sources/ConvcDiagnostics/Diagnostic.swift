// Diagnostics: one message at one place, with notes that point at the rest of the story.

/// How bad a diagnostic is.
public enum Severity: String, Sendable, Hashable {
    case error, warning, note
}

/// A related place that explains a diagnostic (the block definition, the upstream layer, the input).
public struct Note: Hashable, Sendable {
    public var message: String
    public var location: SourceLocation?

    public init(_ message: String, at location: SourceLocation?) {
        self.message = message
        self.location = location
    }
}

/// One finding about a spec, printed as `path:line:col: severity: message [#Category]`.
public struct Diagnostic: Hashable, Sendable {
    public var severity: Severity
    public var message: String
    public var category: String?
    public var location: SourceLocation?
    public var notes: [Note]

    public init(
        _ severity: Severity, _ message: String, category: String? = nil, at location: SourceLocation?,
        notes: [Note] = []
    ) {
        self.severity = severity
        self.message = message
        self.category = category
        self.location = location
        self.notes = notes
    }

    /// The text a terminal shows: the diagnostic line followed by one line per note.
    public var formatted: String {
        var lines = [Self.line(location, severity.rawValue, message + (category.map { " [#\($0)]" } ?? ""))]
        for note in notes {
            lines.append(Self.line(note.location, "note", note.message))
        }
        return lines.joined(separator: "\n")
    }

    private static func line(_ location: SourceLocation?, _ severity: String, _ message: String) -> String {
        if let location { return "\(location): \(severity): \(message)" }
        return "convc: \(severity): \(message)"
    }
}

/// Collects diagnostics in the order stages report them, dropping exact repeats
/// (a typo inside a block instantiated sixteen times is one mistake, not sixteen).
public struct DiagnosticEngine: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []
    private var seen: Set<Diagnostic> = []
    /// Treat warnings as errors (`--strict`).
    public var warningsAsErrors: Bool

    public init(warningsAsErrors: Bool = false) {
        self.warningsAsErrors = warningsAsErrors
    }

    public mutating func emit(_ diagnostic: Diagnostic) {
        var diagnostic = diagnostic
        if warningsAsErrors && diagnostic.severity == .warning { diagnostic.severity = .error }
        guard seen.insert(diagnostic).inserted else { return }
        diagnostics.append(diagnostic)
    }

    public mutating func error(
        _ message: String, category: String? = nil, at location: SourceLocation?, notes: [Note] = []
    ) {
        emit(Diagnostic(.error, message, category: category, at: location, notes: notes))
    }

    public mutating func note(_ message: String, category: String? = nil, at location: SourceLocation?, notes: [Note] = []) {
        emit(Diagnostic(.note, message, category: category, at: location, notes: notes))
    }

    public mutating func warning(
        _ message: String, category: String? = nil, at location: SourceLocation?, notes: [Note] = []
    ) {
        emit(Diagnostic(.warning, message, category: category, at: location, notes: notes))
    }

    /// Replaces the list (used to attach context notes after the fact).
    public mutating func replaceAll(_ updated: [Diagnostic]) {
        diagnostics = updated
    }

    /// Diagnostics in source order (stable for equal locations), as a reader walks the file.
    public var sorted: [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            switch (a.element.location, b.element.location) {
            case (nil, nil): return a.offset < b.offset
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return x == y ? a.offset < b.offset : x < y
            }
        }.map(\.element)
    }

    public var errorCount: Int { diagnostics.count { $0.severity == .error } }
    public var warningCount: Int { diagnostics.count { $0.severity == .warning } }
    public var hasErrors: Bool { errorCount > 0 }
}
