import Foundation
import Glibc
import Testing
import LocalStackSupport
import FraudCore

/// `FileOutput(replacingAtomically: true)`: a file is replaced only by a finished one.
@Suite("FileOutput replacing atomically", .temporaryFolder)
struct FileOutputReplacementTests {
    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    static func names(_ folder: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    @Test("until close() the old file stays as it was and the new bytes are in a hidden temporary file beside it; close() renames it into place")
    func closeReplaces() throws {
        let folder = try TemporaryFolder.current.folder("replace")
        let path = folder.appendingPathComponent("decisions.jsonl").path
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o640)
        let output = try FileOutput(path: path, bufferBytes: 1, replacingAtomically: true)
        try output.write(Array("new\n".utf8))
        #expect(try Self.text(path) == "old\n")
        #expect(try Self.names(folder) == [".decisions.jsonl.\(getpid())-0.tmp", "decisions.jsonl"])
        try output.close()
        #expect(try Self.text(path) == "new\n")
        #expect(try Self.names(folder) == ["decisions.jsonl"])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o640)
    }

    @Test("discard(), or dropping the writer unclosed, removes the temporary file and keeps the old one; a new file is never created")
    func discardKeepsTheOldFile() throws {
        let folder = try TemporaryFolder.current.folder("discard")
        let old = folder.appendingPathComponent("old.jsonl").path, new = folder.appendingPathComponent("new.jsonl").path
        try "old\n".write(toFile: old, atomically: false, encoding: .utf8)
        let discarded = try FileOutput(path: old, bufferBytes: 1, replacingAtomically: true)
        try discarded.write(Array("half".utf8))
        discarded.discard()
        do {
            let dropped = try FileOutput(path: new, bufferBytes: 1, replacingAtomically: true)
            try dropped.write(Array("half".utf8))
        }
        #expect(try Self.text(old) == "old\n")
        #expect(try Self.names(folder) == ["old.jsonl"])
    }

    @Test("through a symbolic link the file it points at is replaced; a device is written in place; a folder is refused")
    func linksDevicesAndFolders() throws {
        let folder = try TemporaryFolder.current.folder("kinds")
        let target = folder.appendingPathComponent("target.jsonl").path, link = folder.appendingPathComponent("link.jsonl").path
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let throughLink = try FileOutput(path: link, replacingAtomically: true)
        try throughLink.write(Array("new\n".utf8))
        try throughLink.close()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try Self.text(target) == "new\n")

        let device = try FileOutput(path: "/dev/null", replacingAtomically: true)
        try device.write(Array("nothing\n".utf8))
        try device.close()
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)

        #expect(throws: FileIOError(path: folder.path, operation: "create", reason: "Is a directory")) {
            try FileOutput(path: folder.path, replacingAtomically: true)
        }
        #expect(try Self.names(folder) == ["link.jsonl", "target.jsonl"])
    }

    @Test("a temporary file is listed in UnfinishedFiles from creation until close() or discard()")
    func unfinishedFilesAreListed() throws {
        let folder = try TemporaryFolder.current.folder("listed")
        let closed = try FileOutput(path: folder.appendingPathComponent("closed.jsonl").path, replacingAtomically: true)
        let discarded = try FileOutput(path: folder.appendingPathComponent("discarded.jsonl").path, replacingAtomically: true)
        let temporaries = try Self.names(folder).map { folder.appendingPathComponent($0).path }
        #expect(temporaries.count == 2)
        #expect(UnfinishedFiles.current.isSuperset(of: temporaries))
        try closed.close()
        discarded.discard()
        #expect(UnfinishedFiles.current.isDisjoint(with: temporaries))
        #expect(try Self.names(folder) == ["closed.jsonl"])
    }

    @Test("a temporary file of a process that is gone, unchanged for a minute, is removed by the next writer beside the same target; nothing else is")
    func abandonedTemporariesAreRemoved() throws {
        let folder = try TemporaryFolder.current.folder("abandoned")
        // A process id that is surely gone: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let gone = child.processIdentifier, alive = getppid()
        let abandoned = ".out.jsonl.\(gone)-0.tmp"
        let kept = [
            ".out.jsonl.\(gone)-1.tmp",      // the same process, but written to seconds ago
            ".out.jsonl.\(alive)-0.tmp",     // a process that still runs
            ".other.jsonl.\(gone)-0.tmp",    // another target's
            ".out.jsonl.x\(gone)-0.tmp",     // not a process id
            "out.jsonl.\(gone)-0.tmp",       // not hidden: not ours
        ]
        for name in [abandoned] + kept { try "half".write(toFile: folder.appendingPathComponent(name).path, atomically: false, encoding: .utf8) }
        let twoMinutesAgo = time(nil) - 120
        for name in [abandoned] + kept.dropFirst() {
            var times = [timeval(tv_sec: twoMinutesAgo, tv_usec: 0), timeval(tv_sec: twoMinutesAgo, tv_usec: 0)]
            #expect(utimes(folder.appendingPathComponent(name).path, &times) == 0)
        }
        let output = try FileOutput(path: folder.appendingPathComponent("out.jsonl").path, replacingAtomically: true)
        try output.write(Array("new\n".utf8))
        try output.close()
        #expect(try Self.names(folder) == (kept + ["out.jsonl"]).sorted())
    }
}
