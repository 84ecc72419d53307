import FraudCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the wallet said about a hold the payment service asked for.
public enum HoldAnswer: Sendable, Equatable {
    case held
    case insufficientFunds
    case unknownWallet
}

/// The payment service's view of the wallet: place a hold, idempotently by payment id.
public protocol WalletClient: Sendable {
    func hold(_ request: HoldRequest) async throws -> HoldAnswer
}

/// The wallet could not be reached or answered something unexpected; the payment stays
/// `received` and the client's retry with the same Idempotency-Key resumes it.
public struct WalletUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "wallet unavailable: \(reason)" }
}

/// `POST /api/v1/holds` on the wallet service over HTTP.
public struct HTTPWalletClient: WalletClient {
    let endpoint: URL
    let session: URLSession
    let credential: ServiceCredential
    /// For the whole exchange: a hold not answered in time leaves the payment `received`.
    let timeout: Duration

    public init(baseURL: String, credential: ServiceCredential, timeout: Duration = .seconds(5)) {
        self.endpoint = URL(string: baseURL + "/api/v1/holds")!
        self.session = .serviceToService(timeout: timeout)
        self.credential = credential
        self.timeout = timeout
    }

    public func hold(_ request: HoldRequest) async throws -> HoldAnswer {
        var http = URLRequest(url: endpoint)
        http.httpMethod = "POST"
        http.setValue("application/json", forHTTPHeaderField: "Content-Type")
        credential.authorize(&http)
        http.httpBody = try JSONBody.encoder.encode(HoldBody(request))
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await session.data(for: http, within: timeout) } catch {
            throw WalletUnavailable(reason: "\(endpoint): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        switch status {
        case 200, 201: return .held
        case 402: return .insufficientFunds
        // Only the wallet's own refusal declines the payment; a 404 without it is a route the
        // wallet does not serve (a wrong `payment.wallet_url`, a proxy prefix), which must not
        // decline every payment but leave them `received` for a retry once it is fixed.
        case 404 where Self.errorCode(in: data) == "unknown_wallet": return .unknownWallet
        default:
            let hint = status == 404 ? " (is payment.wallet_url the wallet service's base URL?)" : ""
            throw WalletUnavailable(reason: "\(endpoint) answered \(status)\(hint): \(String(decoding: data.prefix(512), as: UTF8.self))")
        }
    }

    /// The `error` code of a `ServiceHTTPError` body, or nil for any other body.
    static func errorCode(in body: Data) -> String? {
        (try? JSONDecoder().decode(ServiceHTTPError.ErrorBody.self, from: body))?.error
    }
}

/// The wallet ledger in the same process and database (tests, and single-binary deployments).
public struct LocalWalletClient: WalletClient {
    let ledger: WalletLedger

    public init(ledger: WalletLedger) { self.ledger = ledger }

    public func hold(_ request: HoldRequest) async throws -> HoldAnswer {
        do {
            _ = try await ledger.hold(request)
            return .held
        } catch WalletError.insufficientFunds {
            return .insufficientFunds
        } catch WalletError.unknownWallet {
            return .unknownWallet
        }
    }
}
