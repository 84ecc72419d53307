import FraudCore
import PostgresNIO

/// One wallet as `GET /api/v1/wallets/{id}` shows it: balances per currency and recent entries.
public struct WalletView: Sendable, Equatable, Codable {
    public struct Balance: Sendable, Equatable, Codable {
        public var currency: String
        public var availableMinor: Int64
        public var heldMinor: Int64

        enum CodingKeys: String, CodingKey {
            case currency
            case availableMinor = "available_minor"
            case heldMinor = "held_minor"
        }
    }

    public struct Entry: Sendable, Equatable, Codable {
        public var entryID: Int64
        /// topup, hold, capture or release.
        public var kind: String
        /// The payment id, or the top-up's reference.
        public var reference: String
        /// available or held: which of the wallet's accounts moved.
        public var account: String
        public var amountMinor: Int64
        public var currency: String
        /// RFC 3339 in UTC.
        public var createdAt: String

        enum CodingKeys: String, CodingKey {
            case entryID = "entry_id", kind, reference, account
            case amountMinor = "amount_minor", currency
            case createdAt = "created_at"
        }
    }

    public var walletID: String
    public var balances: [Balance]
    public var entries: [Entry]

    enum CodingKeys: String, CodingKey {
        case walletID = "wallet_id", balances, entries
    }
}

extension WalletLedger {
    /// The wallet's balances and its newest `entryLimit` entries, or nil if it was never funded.
    public func view(walletID: String, entryLimit: Int = 100) async throws -> WalletView? {
        try await database.client.withConnection { connection in
            var balances: [String: WalletView.Balance] = [:]
            for try await (kind, code, balance) in try await connection.query("""
                SELECT kind, currency, balance_minor FROM wallet.accounts
                WHERE wallet_id = \(walletID) AND kind IN ('available', 'held') ORDER BY currency
                """, logger: logger).decode((String, String, Int64).self) {
                var entry = balances[code] ?? .init(currency: code, availableMinor: 0, heldMinor: 0)
                if kind == "available" { entry.availableMinor = balance } else { entry.heldMinor = balance }
                balances[code] = entry
            }
            guard !balances.isEmpty else { return nil }
            var entries: [WalletView.Entry] = []
            for try await (id, kind, reference, account, minor, code, millis) in try await connection.query("""
                SELECT e.id, j.kind, j.reference, a.kind, e.amount_minor, e.currency,
                       (extract(epoch FROM e.created_at) * 1000)::BIGINT
                FROM wallet.entries e
                JOIN wallet.accounts a ON a.id = e.account_id
                JOIN wallet.journal j ON j.id = e.journal_id
                WHERE a.wallet_id = \(walletID) AND a.kind IN ('available', 'held')
                ORDER BY e.id DESC LIMIT \(entryLimit)
                """, logger: logger).decode((Int64, String, String, String, Int64, String, Int64).self) {
                entries.append(.init(entryID: id, kind: kind, reference: reference, account: account, amountMinor: minor,
                                     currency: code, createdAt: RFC3339.format(EventTime(millisecondsSinceEpoch: millis))))
            }
            return WalletView(walletID: walletID, balances: balances.values.sorted { $0.currency < $1.currency }, entries: entries)
        }
    }
}
