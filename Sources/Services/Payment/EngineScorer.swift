import FraudCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The payment service's optional synchronous path: ask the engine for the decision while the
/// client waits. Any failure (timeout included) is thrown, and the caller falls back to the
/// asynchronous path through Kafka.
public protocol EngineScorer: Sendable {
    func score(_ event: PaymentEvent) async throws -> DecisionEnvelope
}

/// Why a synchronous score did not come back; the payment continues on the Kafka path.
public struct EngineScoringFailure: Error, CustomStringConvertible, Equatable {
    public var reason: String
    public var description: String { "synchronous scoring failed: \(reason)" }
}

/// `POST /v1/score` on the engine (8083) with a hard deadline.
///
/// The engine scores in update mode and remembers the decision, so when the same payment then
/// arrives on `payments` it emits the identical decision to `fraud-decisions` for the wallet and
/// reconciliation, and its windows count the payment once.
public struct HTTPEngineScorer: EngineScorer {
    let endpoint: URL
    let timeout: Duration
    let credential: ServiceCredential
    let session: URLSession

    public init(baseURL: String, timeout: Duration, credential: ServiceCredential) {
        self.endpoint = URL(string: baseURL + "/v1/score")!
        self.timeout = timeout
        self.credential = credential
        self.session = .serviceToService(timeout: timeout)
    }

    public func score(_ event: PaymentEvent) async throws -> DecisionEnvelope {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        credential.authorize(&request)
        request.httpBody = Data(EventEncoder().encode(event))
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await session.data(for: request, within: timeout) } catch {
            throw EngineScoringFailure(reason: "\(endpoint): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw EngineScoringFailure(reason: "\(endpoint) answered \(status): \(String(decoding: data.prefix(512), as: UTF8.self))")
        }
        do { return try DecisionEnvelope(decoding: Array(data)) } catch {
            throw EngineScoringFailure(reason: "\(endpoint) answered a decision that does not decode: \(error)")
        }
    }
}
