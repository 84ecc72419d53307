import ArgumentParser
import Glibc
import Rules

/// Every file a replay reads and writes, checked against each other before anything is opened.
///
/// Outputs used to be created (truncated) after the input was opened: `--decisions-out` naming the
/// input emptied it and the replay read nothing (exit 0), `--report` naming it overwrote the events
/// with HTML, two outputs on one file interleaved into invalid JSON, and a missing folder was found
/// only after the whole replay had run. Two names are the same file when both exist and share
/// device and inode (hard and symbolic links included), or else when they resolve to the same
/// absolute path.
struct ReplayFiles {
    struct Named {
        var option: String
        var path: String
        /// The rules file that names this one (a list or rates file), if the option does not.
        var readBy: String? = nil

        var described: String {
            if let readBy { "\"\(path)\", which \(option) \"\(readBy)\" reads" } else { "\(option) \"\(path)\"" }
        }
    }

    var inputs: [Named] = []
    var outputs: [Named] = []

    mutating func read(_ option: String, _ path: String?) {
        if let path, path != "-" { inputs.append(Named(option: option, path: path)) }
    }

    /// The list files and rates file a rules file reads (found by loading it; a rules file that
    /// does not load adds nothing here, and the replay then stops on its error before writing).
    mutating func readRuleSetFiles(of option: String, _ rulesPath: String?) {
        guard let rulesPath, let ruleSet = try? RuleSetLoader(rulesPath: rulesPath).load() else { return }
        for path in ruleSet.sourceFiles.dropFirst() {
            inputs.append(Named(option: option, path: path, readBy: rulesPath))
        }
    }

    mutating func write(_ option: String, _ path: String?) {
        if let path { outputs.append(Named(option: option, path: path)) }
    }

    /// Refuses an output that is an input or another output, or that cannot be created where it
    /// is named (a folder, or in a folder that does not exist).
    func check() throws(ValidationError) {
        let inputIDs = inputs.map { FileID($0.path) }
        var seen: [(Named, FileID)] = []
        for output in outputs {
            let id = FileID(output.path)
            if let index = inputIDs.firstIndex(of: id) {
                let input = inputs[index]
                throw ValidationError("\(output.option) \"\(output.path)\" is the same file as \(input.described): writing it would destroy what the replay reads; name another file for \(output.option)")
            }
            if let (other, _) = seen.first(where: { $0.1 == id }) {
                let what = output.path == "-" ? "standard output (-), where their lines would interleave" : "\"\(output.path)\""
                throw ValidationError("\(other.option) and \(output.option) both write to \(what); give each output its own file")
            }
            seen.append((output, id))
            try Self.checkCreatable(output)
        }
    }

    private static func checkCreatable(_ output: Named) throws(ValidationError) {
        guard output.path != "-" else { return }
        var info = stat()
        if stat(output.path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw ValidationError("\(output.option) \"\(output.path)\" is a folder; name a file (e.g. \(output.path.hasSuffix("/") ? output.path : output.path + "/")\(defaultName(output.option)))") }
            return
        }
        let folder = FileID.folder(of: output.path)
        guard stat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ValidationError("\(output.option) \"\(output.path)\": the folder \"\(folder)\" does not exist; create it first or name a file in an existing folder")
        }
        guard access(folder, W_OK) == 0 else {
            throw ValidationError("\(output.option) \"\(output.path)\": the folder \"\(folder)\" is not writable (\(String(cString: strerror(errno)))); name a file in a folder you can write")
        }
    }

    private static func defaultName(_ option: String) -> String {
        switch option {
        case "--report": "report.html"
        case "--summary-json": "summary.json"
        default: "out.jsonl"
        }
    }
}

/// What identifies a file: its device and inode when it exists, else its absolute path with the
/// existing folders resolved; standard output for `-`.
private enum FileID: Equatable {
    case standardOutput
    case inode(UInt64, UInt64)
    case path(String)

    init(_ path: String) {
        if path == "-" {
            self = .standardOutput
            return
        }
        var info = stat()
        if stat(path, &info) == 0 {
            self = .inode(UInt64(info.st_dev), UInt64(info.st_ino))
            return
        }
        // A new file: its folder resolved (links, `..`), then its name.
        let folder = Self.folder(of: path)
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        if let resolved = realpath(folder, nil) {
            defer { free(resolved) }
            self = .path(String(cString: resolved) + "/" + name)
        } else {
            self = .path(path.hasPrefix("/") ? path : Self.currentFolder() + "/" + path)
        }
    }

    static func folder(of path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func currentFolder() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
