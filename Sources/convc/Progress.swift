// A status line for steps that take seconds (compiling, drawing weights), so a terminal never sits silent.

import Foundation

/// Shows `convc: compiling with swiftc… 12 s` on standard error, redrawn each second, while a long step runs;
/// cleared when it finishes. Silent when standard error is not a terminal, so logs and pipes get only results.
final class Progress: @unchecked Sendable {
    static let isShown = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    /// Clears the status line, if one is shown, so that a message can start on an empty line (the next tick
    /// draws the status again below it).
    static func clearLine() {
        guard isShown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private let lock = NSLock()
    private var message: String
    private let start = Date()
    private var timer: DispatchSourceTimer?

    init(_ message: String) {
        self.message = message
        guard Self.isShown else { return }
        draw()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
        self.timer = timer
    }

    /// The next step of the same task.
    func update(_ message: String) {
        lock.withLock { self.message = message }
        if Self.isShown { draw() }
    }

    func finish() {
        lock.withLock {
            guard let timer else { return }
            timer.cancel()
            self.timer = nil
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
    }

    deinit { finish() }

    private func draw() {
        lock.withLock {
            guard timer != nil || Date().timeIntervalSince(start) < 0.5 else { return }
            let seconds = Int(Date().timeIntervalSince(start))
            FileHandle.standardError.write(Data("\r\u{1B}[Kconvc: \(message)… \(seconds) s".utf8))
        }
    }
}
