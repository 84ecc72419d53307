import Foundation
import FraudCore
import Features

/// Loads a rule set from disk: the rules file, the list files it names (relative to it) and the
/// rates file (`rates.json` next to the rules file unless given; the built-in rates if neither).
public struct RuleSetLoader: Sendable {
    public var rulesPath: String
    /// Explicit rates file; nil means `<rules dir>/rates.json` when it exists.
    public var ratesPath: String?
    public var basePlan: FeaturePlan

    public init(rulesPath: String, ratesPath: String? = nil, basePlan: FeaturePlan = FeaturePlan()) {
        self.rulesPath = rulesPath
        self.ratesPath = ratesPath
        self.basePlan = basePlan
    }

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case badRates(path: String, reason: String)
        case compile(RulesCompileError)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
            case .badRates(let path, let reason): "\(path): \(reason)"
            case .compile(let error): error.description
            }
        }

        /// One line per problem, as printed by `waqiti rules check`.
        public var lines: [String] {
            if case .compile(let error) = self { return error.diagnostics.map(\.description) }
            return [description]
        }
    }

    var directory: String {
        let url = URL(fileURLWithPath: rulesPath)
        return url.deletingLastPathComponent().path
    }

    /// The rates file this loader reads, if any.
    var resolvedRatesPath: String? {
        if let ratesPath { return ratesPath }
        let candidate = defaultRatesPath
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    public func load() throws(LoadError) -> RuleSet {
        try load(beforeReading: nil)
    }

    /// The rates file the loader falls back to: `rates.json` beside the rules file (read only if it exists).
    var defaultRatesPath: String {
        ratesPath ?? (directory as NSString).appendingPathComponent("rates.json")
    }

    /// Loads, calling `beforeReading` with each file's path (as `RuleSet.sourceFiles` names it)
    /// just before reading it: the watcher stamps the files there, so a change during or after the
    /// read is always seen.
    func load(beforeReading: (@Sendable (String) -> Void)?) throws(LoadError) -> RuleSet {
        let read: @Sendable (String) throws -> [UInt8] = { path in
            beforeReading?(path)
            return try RuleSetLoader.read(path)
        }
        let text: String
        do {
            text = String(decoding: try read(rulesPath), as: UTF8.self)
        } catch {
            throw .unreadable(path: rulesPath, reason: "\(error)")
        }
        var rates = ExchangeRates.builtIn
        var ratesBytes: [UInt8] = []
        let ratesFile = resolvedRatesPath
        if let ratesFile {
            do {
                ratesBytes = try read(ratesFile)
            } catch {
                throw .unreadable(path: ratesFile, reason: "\(error)")
            }
            do {
                rates = try RatesFile.parse(ratesBytes)
            } catch {
                throw .badRates(path: ratesFile, reason: error.message)
            }
        }
        let directory = self.directory
        let source = RulesSource(path: rulesPath, text: text) { path in
            try read(path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path))
        }
        do {
            let ruleSet = try RuleSet.compile(source, basePlan: basePlan, rates: rates, ratesBytes: ratesBytes, ratesPath: ratesFile)
            return ruleSet.resolvingPaths(relativeTo: directory)
        } catch {
            throw .compile(error)
        }
    }

    struct FileError: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw FileError(description: exists ? "permission denied or not a regular file" : "no such file")
        }
        return [UInt8](data)
    }
}

extension RuleSet {
    /// Makes list paths absolute (relative ones are relative to the rules file) for the watcher.
    func resolvingPaths(relativeTo directory: String) -> RuleSet {
        var copy = self
        copy.sourceFilesStorage = sourceFiles.enumerated().map { index, path in
            index == 0 || path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        }
        return copy
    }
}

/// `rules/rates.json`: US dollars per one major unit of each currency.
/// `{"usd_per_major_unit": {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}}`
enum RatesFile {
    struct Problem: Error { var message: String }

    static func parse(_ bytes: [UInt8]) throws(Problem) -> ExchangeRates {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw Problem(message: "not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any], let table = root["usd_per_major_unit"] as? [String: Any] else {
            throw Problem(message: "expected {\"usd_per_major_unit\": {\"EUR\": 1.08, …}}")
        }
        var rates: [Currency: Double] = [:]
        for (code, value) in table.sorted(by: { $0.key < $1.key }) {
            guard let currency = Currency(code) else { throw Problem(message: "'\(code)' is not an ISO 4217 currency code") }
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue.isFinite, number.doubleValue > 0 else {
                throw Problem(message: "the rate of \(code) must be a positive number")
            }
            rates[currency] = number.doubleValue
        }
        return ExchangeRates(usdPerMajorUnit: rates)
    }
}
