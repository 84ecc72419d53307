import FraudCore

/// What a credential may do. One list for the whole platform (engine and services), so the same
/// `WAQITI_API_KEYS` can be given to every process and a misspelt scope is refused by all of them.
public enum APIScope: String, CaseIterable, Sendable, Comparable {
    /// `POST /v1/score…?dry_run=true`: a decision that changes no window and caches nothing.
    case score
    /// `POST /v1/score…` in update mode: enters the velocity windows and the decision cache, as a
    /// streamed event does. Also allows dry runs.
    case scoreUpdate = "score:update"
    /// `GET /v1/rules`.
    case rulesRead = "rules:read"
    /// `GET /metrics` on the engine and every service (Prometheus).
    case metricsRead = "metrics:read"
    /// `POST /api/v1/payments`.
    case paymentsWrite = "payments:write"
    /// `GET /api/v1/payments/{id}`, `POST /api/v1/payments/statuses`.
    case paymentsRead = "payments:read"
    /// `GET /api/v1/reviews`.
    case reviewsRead = "reviews:read"
    /// `POST /api/v1/payments/{id}/review`; the credential's subject is the recorded reviewer.
    case reviewsResolve = "reviews:resolve"
    /// `GET /api/v1/wallets/{id}`.
    case walletRead = "wallet:read"
    /// `POST /api/v1/wallets/{id}/topups`: creates money in a wallet.
    case walletTopUp = "wallet:topup"
    /// `POST /api/v1/holds`: the payment service's call to the wallet.
    case walletHold = "wallet:hold"
    /// `GET /api/v1/reconciliation/report`.
    case reconciliationRead = "reconciliation:read"

    /// What a credential without scopes gets: an API key written without `name:scopes:`, or a
    /// bearer token without a `scope` claim. Dry-run scoring reads the live rules and windows
    /// but changes nothing, so an old credential keeps the most common use and nothing more.
    public static let legacy: Set<APIScope> = [.score]

    /// True when holding `self` allows what `required` guards.
    public func grants(_ required: APIScope) -> Bool {
        self == required || (self == .scoreUpdate && required == .score)
    }

    public static func < (a: APIScope, b: APIScope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Every scope's name, for error messages.
    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One entry of `WAQITI_API_KEYS`: `name:scope+scope:key` (the name is the subject recorded for
/// what the key does, e.g. as a review's reviewer), or a bare `key` from before scopes existed,
/// which gets `APIScope.legacy`.
public struct APIKey: Sendable, Equatable, CustomStringConvertible {
    /// The subject: the entry's name, or `key-` and 8 hex digits of the key's SHA-256 for a bare key.
    public var name: String
    public var scopes: Set<APIScope>
    public var key: String
    /// Written without `name:scopes:`.
    public var isLegacy: Bool

    public init(name: String, scopes: Set<APIScope>, key: String) {
        self.name = name
        self.scopes = scopes
        self.key = key
        self.isLegacy = false
    }

    /// A bare key, as `WAQITI_API_KEYS` held them before scopes.
    public init(legacy key: String) {
        var hasher = SHA256()
        hasher.update(key.utf8)
        self.name = "key-" + hasher.finalize().prefix(4).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        self.scopes = APIScope.legacy
        self.key = key
        self.isLegacy = true
    }

    /// Redacted: the name and scopes, never the key.
    public var description: String {
        "\(name) [\(scopes.sorted().map(\.rawValue).joined(separator: " "))]" + (isLegacy ? " (bare key)" : "")
    }

    /// True when the key's scopes allow everything in `required`.
    public func covers(_ required: some Sequence<APIScope>) -> Bool {
        required.allSatisfy { needed in scopes.contains { $0.grants(needed) } }
    }

    /// Parses a comma-separated `WAQITI_API_KEYS`. The problem names the entry by position and
    /// name, never by its key, and says how to write it.
    public static func parseList(_ text: String) throws(APIKeyProblem) -> [APIKey] {
        let entries = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var keys: [APIKey] = []
        for (index, entry) in entries.enumerated() {
            let key = try parse(entry, position: index + 1)
            if let earlier = keys.first(where: { !key.isLegacy && $0.name == key.name }) {
                throw APIKeyProblem("entries \(keys.firstIndex(of: earlier)! + 1) and \(index + 1) are both named '\(key.name)'", fix: "give each key its own name, so what it does is told apart")
            }
            keys.append(key)
        }
        return keys
    }

    static func parse(_ entry: String, position: Int) throws(APIKeyProblem) -> APIKey {
        let shape = "write each entry as name:scope+scope:key (e.g. payment:wallet:hold+score:update:$(openssl rand -hex 16)) or a bare key without ':'"
        guard let firstColon = entry.firstIndex(of: ":") else {
            try checkLength(entry, entry: "entry \(position)")
            return APIKey(legacy: entry)
        }
        let name = String(entry[..<firstColon])
        guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw APIKeyProblem("entry \(position) has the name '\(name.prefix(64))', which is not 1 to 64 letters, digits, '.', '_' or '-'", fix: shape)
        }
        // Scopes themselves hold a colon (`score:update`), so the key is what follows the last
        // ':' (a key cannot hold one) and the scopes are what lies between.
        let rest = entry[entry.index(after: firstColon)...]
        guard let lastColon = rest.lastIndex(of: ":") else {
            throw APIKeyProblem("entry \(position) ('\(name)') has a name but no scopes", fix: shape)
        }
        let scopeText = rest[..<lastColon]
        let key = String(rest[rest.index(after: lastColon)...])
        var scopes: Set<APIScope> = []
        for word in scopeText.split(separator: "+", omittingEmptySubsequences: false) {
            guard let scope = APIScope(rawValue: String(word)) else {
                throw APIKeyProblem("entry \(position) ('\(name)') has the unknown scope '\(word)'", fix: "the scopes are \(APIScope.allNames), joined with '+'")
            }
            scopes.insert(scope)
        }
        try checkLength(key, entry: "entry \(position) ('\(name)')")
        return APIKey(name: name, scopes: scopes, key: key)
    }

    private static func checkLength(_ key: String, entry: String) throws(APIKeyProblem) {
        if key.utf8.count < 16 {
            throw APIKeyProblem("\(entry) has a key of \(key.utf8.count) characters, too easy to guess", fix: "use keys of at least 16 random characters, e.g. from `openssl rand -hex 16`")
        }
    }

    /// The start-up warning for bare keys, or nil when every key is named.
    public static func legacyWarning(_ keys: [APIKey]) -> String? {
        let legacy = keys.filter(\.isLegacy)
        guard !legacy.isEmpty else { return nil }
        return "\(legacy.count) of \(keys.count) WAQITI_API_KEYS entries (\(legacy.map(\.name).joined(separator: ", "))) are bare keys: they may only score with dry_run=true (scope score); write them as name:scope+scope:key to grant more (docs/api.md, Authentication)"
    }
}

/// Why `WAQITI_API_KEYS` cannot be used: what is wrong with which entry and how to write it.
public struct APIKeyProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var problem: String
    public var fix: String
    public init(_ problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(problem); \(fix)" }
}
