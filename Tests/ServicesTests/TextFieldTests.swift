import FraudCore
import Foundation
import Testing
@testable import Services
import LocalStackSupport

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("Text the database would refuse is a 400 naming the field", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct TextFieldTests {
    static let long = String(repeating: "r", count: 129)

    /// Each of these reached PostgreSQL and came back as a bare 500: the 128-character CHECK on
    /// wallet ids and references, and text that cannot hold U+0000.
    @Test("top-ups", arguments: [
        ("acc-1", long, "field 'reference' must be 1 to 128 characters"),
        (long, "ref-1", "field 'wallet_id' must be 1 to 128 characters"),
        ("acc-1", "ref\u{0}1", "field 'reference' must not contain the NUL character (U+0000)"),
        ("acc-1", "", "field 'reference' must be 1 to 128 characters"),
    ])
    func topUp(wallet: String, reference: String, message: String) async throws {
        try await Platform.with { platform in
            let path = "/api/v1/wallets/\(wallet.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!)/topups"
            let reply = try await platform.wallet.send("POST", path, json: try JSONSerialization.data(withJSONObject: [
                "amount_minor": 500, "currency": "USD", "reference": reference,
            ]))
            #expect(reply.status == 400)
            #expect(reply.string("error") == "invalid_request")
            #expect(reply.string("message") == message)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.journal", as: Int64.self, in: platform.database) == 0)
        }
    }

    @Test func aReferenceAndAWalletIDOf128CharactersAreAccepted() async throws {
        try await Platform.with { platform in
            let wallet = String(repeating: "w", count: 128)
            let reply = try await platform.wallet.post("/api/v1/wallets/\(wallet)/topups",
                                                       TopUp(amountMinor: 500, currency: "USD", reference: String(repeating: "r", count: 128)))
            #expect(reply.status == 201)
            #expect(try await platform.ledger.view(walletID: wallet)?.balances.first?.availableMinor == 500)
        }
    }

    @Test func holdsAndReviewsRefuseTheNULCharacter() async throws {
        try await Platform.with { platform in
            let hold = try await platform.wallet.send("POST", "/api/v1/holds", json: try JSONSerialization.data(withJSONObject: [
                "payment_id": "p-1", "wallet_id": "acc\u{0}", "merchant_id": "m-1", "amount_minor": 100, "currency": "USD",
            ]))
            #expect(hold.status == 400)
            #expect(hold.string("message") == "field 'wallet_id' must not contain the NUL character (U+0000)")

            try await platform.ledger.topUp(walletID: "acc-n", amount: Money(minorUnits: 1_000, currency: .usd), reference: "t")
            let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-n", amount: 500),
                                                           headers: ["Idempotency-Key": "n1"])
            let id = try #require(created.string("payment_id"))
            try await platform.deliver(try await platform.decide { _ in .review })
            let review = try await platform.payments.send("POST", "/api/v1/payments/\(id)/review", json: try JSONSerialization.data(withJSONObject: [
                "decision": "approve", "reviewer": "ana", "note": "called\u{0}",
            ]))
            #expect(review.status == 400)
            #expect(review.string("message") == "field 'note' must not contain the NUL character (U+0000)")
            #expect(try await platform.payments.get("/api/v1/payments/\(id)").string("status") == "in_review")
        }
    }

    struct TopUp: Encodable {
        var amountMinor: Int64
        var currency: String
        var reference: String
        enum CodingKeys: String, CodingKey { case amountMinor = "amount_minor", currency, reference }
    }
}
