import Dispatch
import FraudCore
import Glibc

/// Ends a command stopped by SIGINT, SIGTERM or SIGHUP without leaving its unfinished outputs.
///
/// A replay writes each output to a hidden temporary file and renames it into place at the end;
/// Ctrl-C used to kill it with those files still beside the targets. The signals are taken off
/// their default action and handled on a dispatch queue (not in signal context, so the handler
/// may lock and allocate): it removes the files `UnfinishedFiles` lists, says so on stderr, then
/// restores the default action and raises the signal again, so the command still ends by the
/// signal (status 130 for Ctrl-C in a shell) and the targets keep what they held before.
enum InterruptCleanup {
    /// Kept for the life of the process; written once, by the command's own task, before any
    /// signal is handled.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install(command: String) {
        let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
        let installed = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let removed = UnfinishedFiles.removeAll()
                printError("\(command) stopped by \(String(cString: strsignal(number))): \(removed) unfinished output file(s) removed; the files it would have replaced are unchanged")
                signal(number, SIG_DFL)
                // libdispatch blocks the signal on its threads (it reads it from a signalfd):
                // raised here while blocked, it would stay pending and the process would hang.
                var unblock = sigset_t()
                sigemptyset(&unblock)
                sigaddset(&unblock, number)
                pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
                raise(number)
            }
            source.resume()
            return source
        }
        sources.append(contentsOf: installed)
    }
}
