import Foundation
import Testing

/// The running test's own folder under the system's temporary directory, for every file a test
/// writes. A suite asks for one with `.temporaryFolder`; each of its tests (each case of a
/// parameterized one) gets a fresh folder, removed when the test ends, passed or failed, so runs
/// do not pile files up in /tmp and no test sees another's files.
public struct TemporaryFolder: Sendable {
    public let url: URL

    @TaskLocal static var scoped: TemporaryFolder?

    /// The folder of the test running on this task. Outside a suite with `.temporaryFolder` the
    /// test fails saying so, and its files go to the temporary directory itself.
    public static var current: TemporaryFolder {
        if let scoped { return scoped }
        Issue.record("no temporary folder for this test: add the .temporaryFolder trait to its suite, so its files are removed when it ends")
        return TemporaryFolder(url: FileManager.default.temporaryDirectory)
    }

    /// `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// A new, empty folder inside this one, for files that must not meet others of the same name.
    public func folder(_ stem: String) throws -> URL {
        let folder = url.appendingPathComponent("\(stem)-\(LocalStack.runID())", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// See `TemporaryFolder`. Recursive, so every test function and test case gets its own folder.
public struct TemporaryFolderTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // Named after the test, so a folder seen during a run that hangs says whose it is.
        let name = LocalStack.uniqueName(String(test.name.prefix { $0.isLetter || $0.isNumber }))
        let folder = TemporaryFolder(url: FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true))
        try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder.url) }
        try await TemporaryFolder.$scoped.withValue(folder, operation: function)
    }
}

extension Trait where Self == TemporaryFolderTrait {
    /// Gives each test of the suite a `TemporaryFolder.current`, removed when the test ends.
    public static var temporaryFolder: Self { TemporaryFolderTrait() }
}
