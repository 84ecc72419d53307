import FraudCore
import Foundation
import Synchronization
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
        let (data, response) = try await withDeadline(timeout) { [session, request] in
            do { return try await session.data(for: request) } catch {
                throw EngineScoringFailure(reason: "\(self.endpoint): \(error.localizedDescription)")
            }
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw EngineScoringFailure(reason: "\(endpoint) answered \(status): \(String(decoding: data.prefix(512), as: UTF8.self))")
        }
        do { return try DecisionEnvelope(decoding: Array(data)) } catch {
            throw EngineScoringFailure(reason: "\(endpoint) answered a decision that does not decode: \(error)")
        }
    }

    /// Runs `operation`, throwing once `limit` has passed: URLSession's own timeout is between
    /// bytes, not for the whole exchange, and on Linux a cancelled request still runs to its end,
    /// so the caller is answered by whichever finishes first and the request is left to finish.
    private func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = FirstAnswer()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let finish: @Sendable (Result<T, any Error>) -> Void = { result in
                if once.claim() { continuation.resume(with: result) }
            }
            let request = Task {
                do { finish(.success(try await operation())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: limit)
                finish(.failure(EngineScoringFailure(reason: "\(endpoint) did not answer within \(limit)")))
                request.cancel()
            }
        }
    }
}

/// True for the first caller only: the continuation is resumed by whichever of the request and
/// the deadline finishes first.
private final class FirstAnswer: Sendable {
    private let answered = Mutex(false)

    func claim() -> Bool {
        answered.withLock { answered in
            defer { answered = true }
            return !answered
        }
    }
}
