import Glibc

/// Writes `text` to standard error as it is, in one `write(2)`: unbuffered, so it reaches a
/// terminal before the process ends by a signal, and safe from any thread.
func writeError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// One line on standard error (a message for the operator, not a log record).
func printError(_ line: String) { writeError(line + "\n") }
