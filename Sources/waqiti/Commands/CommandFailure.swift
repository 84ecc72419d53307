/// A command that cannot do its work because of what it read — a file missing or malformed, a
/// configuration value, an input without the events it needs — rather than how it was called.
///
/// ArgumentParser prints it as `Error: <description>` and exits 1. A `ValidationError` is for the
/// command line itself: it exits 64 (EX_USAGE) and prints the usage, which only misleads when the
/// arguments were right and the rules file was not.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
