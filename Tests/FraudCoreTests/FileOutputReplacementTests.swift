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
}
