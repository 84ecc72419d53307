import FraudCore
import Foundation

extension EngineConfiguration {
    /// Reads `file` (if given), overlays `WAQITI_*` variables from `environment`, and validates.
    ///
    /// - Throws: `ConfigurationError` naming the first bad key, where it came from and how to fix it.
    public static func load(file: String?, environment: [String: String]) throws -> EngineConfiguration {
        var configuration = EngineConfiguration()
        var fileValues: [String: ConfigurationValue] = [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(key: "(file)", source: file, problem: "cannot read the configuration file", fix: "check the path given to --config, or omit it to run on the embedded defaults")
            }
            do {
                fileValues = try ConfigurationValue.flatten(json: data, leafObjects: ConfigurationSetting.objectKeys)
            } catch var error as ConfigurationError {
                error.source = file
                throw error
            } catch {
                throw ConfigurationError(key: "(file)", source: file, problem: "not valid JSON (\(error))", fix: "fix the syntax; docs/operations.md has a complete example")
            }
        }
        let settingsByKey = Dictionary(uniqueKeysWithValues: ConfigurationSetting.all.map { ($0.key, $0) })
        for key in fileValues.keys.sorted() where settingsByKey[key] == nil {
            let suggestion = ConfigurationSetting.closestKey(to: key).map { "did you mean '\($0)'? " } ?? ""
            throw ConfigurationError(key: key, source: file ?? "", problem: "unknown setting", fix: "\(suggestion)docs/operations.md lists every key")
        }
        for setting in ConfigurationSetting.all {
            if let value = fileValues[setting.key] {
                guard !setting.secret else {
                    throw ConfigurationError(key: setting.key, source: file ?? "", problem: "secrets are not read from files", fix: "remove it from the file and set \(setting.environmentName) in the environment")
                }
                try setting.apply(&configuration, value, file ?? "")
            }
            if let text = environment[setting.environmentName] {
                try setting.apply(&configuration, .string(text), setting.environmentName)
            }
        }
        return configuration
    }

    /// One line per setting, `key = value`, with secrets replaced by whether they are set.
    public var redactedDescription: String {
        ConfigurationSetting.all.map { "\($0.key) = \($0.render(self))" }.joined(separator: "\n")
    }
}
