import Dispatch
import Foundation
import FraudCore
import Hummingbird
import Testing
@testable import Services

/// Nothing a test or a service waits for over HTTP can keep it waiting for good: a request has a
/// deadline for its whole exchange, and a server under test that ends before it listens fails the
/// test with its error. (A hang costs a CI run its 90 minutes and names nothing.)
@Suite("Bounded waits: request deadlines and servers that never listen")
struct BoundedWaitTests {
    /// A route that answers after `seconds`: longer than every deadline below.
    static func slowRouter(seconds: Int = 5) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("/api/v1/holds") { _, _ -> Response in
            try await Task.sleep(for: .seconds(seconds))
            return Response(status: .created)
        }
        router.get("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(seconds))
            return Response(status: .ok)
        }
        return router
    }

    /// Ends after `seconds` whatever happens, cancellation included, as a request that
    /// URLSession runs to its end does.
    static func ignoringCancellation(seconds: Double) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume() }
        }
    }

    struct Late: Error, Equatable {}

    @Test("the deadline answers the caller without waiting for an operation that ignores cancellation")
    func deadlineAnswersFirst() async throws {
        let started = ContinuousClock.now
        await #expect(throws: Late()) {
            try await withDeadline(.milliseconds(100), timeout: { Late() }) {
                await Self.ignoringCancellation(seconds: 3)
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("an operation that ends in time answers with its result or its own error")
    func operationAnswersFirst() async throws {
        #expect(try await withDeadline(.seconds(30), timeout: { Late() }) { 42 } == 42)
        struct Refused: Error, Equatable {}
        await #expect(throws: Refused()) {
            try await withDeadline(.seconds(30), timeout: { Late() }) { () async throws -> Int in throw Refused() }
        }
    }

    @Test("cancelling the caller answers it at once")
    func cancellationAnswers() async throws {
        let started = ContinuousClock.now
        let task = Task {
            try await withDeadline(.seconds(30), timeout: { Late() }) {
                await Self.ignoringCancellation(seconds: 3)
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("the wallet client gives up on a hold the wallet does not answer, and says so")
    func walletHoldHasADeadline() async throws {
        try await LiveServer.with(Self.slowRouter()) { port in
            let wallet = HTTPWalletClient(baseURL: "http://127.0.0.1:\(port)", credential: .testKey, timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = await #expect(throws: WalletUnavailable.self) {
                try await wallet.hold(HoldRequest(paymentID: "p-1", walletID: "w-1", merchantID: "m-1", amount: Money(minorUnits: 100, currency: .usd)))
            }
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(error?.reason.hasSuffix("/api/v1/holds: no answer within 0.3 seconds") == true, "\(String(describing: error))")
        }
    }

    /// Synchronous scoring's default deadline is 250 ms. With the session's own timeout at the
    /// deadline, swift-corelibs-foundation failed such a request as soon as no byte had come for
    /// a few tens of milliseconds (-1001 after about 30 ms): an engine answering in 100 ms was
    /// "unavailable". The session's timeout is now at least a second; the deadline bounds the call.
    @Test("a deadline under a second still waits for an answer that comes within it")
    func subSecondDeadlineWaitsForTheAnswer() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.post("/api/v1/holds") { _, _ -> Response in
            try await Task.sleep(for: .milliseconds(150))
            return Response(status: .created)
        }
        try await LiveServer.with(router) { port in
            let wallet = HTTPWalletClient(baseURL: "http://127.0.0.1:\(port)", credential: .testKey, timeout: .milliseconds(800))
            for i in 0..<3 {
                let answer = try await wallet.hold(HoldRequest(paymentID: "p-\(i)", walletID: "w-1", merchantID: "m-1", amount: Money(minorUnits: 100, currency: .usd)))
                #expect(answer == .held)
            }
        }
    }

    @Test("the tests' client fails a request that is not answered, naming it")
    func clientRequestHasADeadline() async throws {
        try await LiveServer.with(Self.slowRouter()) { port in
            var client = JSONClient(base: "http://127.0.0.1:\(port)")
            client.limit = .milliseconds(300)
            let started = ContinuousClock.now
            let error = await #expect(throws: JSONClient.Failure.self) { try await client.get("/slow") }
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(error?.description == "GET http://127.0.0.1:\(port)/slow: no answer within 0.3 seconds")
        }
    }

    @Test("the tests' client names a request whose server is gone")
    func clientConnectionRefused() async throws {
        let port = try await LiveServer.with(Router(context: BasicRequestContext.self)) { $0 }
        let error = await #expect(throws: JSONClient.Failure.self) { try await JSONClient(base: "http://127.0.0.1:\(port)").get("/gone") }
        #expect(error?.request == "GET http://127.0.0.1:\(port)/gone")
    }

    struct AddressInUse: Error, Equatable {}

    @Test("a server that fails before it listens fails the test with its error, at once")
    func serverFailsBeforeListening() async throws {
        let started = ContinuousClock.now
        await #expect(throws: AddressInUse()) {
            try await LiveServer.withPort({ _ in throw AddressInUse() }) { _ in Issue.record("no port was reported") }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("a server that stops without an error before it listens fails the test")
    func serverStopsBeforeListening() async throws {
        let error = await #expect(throws: ServerDidNotListen.self) {
            try await LiveServer.withPort({ _ in }) { _ in Issue.record("no port was reported") }
        }
        #expect(error?.description == "the server under test never reported its port: it stopped without an error before it listened")
    }

    @Test("a real server whose port is taken fails the test with the bind error")
    func portInUse() async throws {
        try await LiveServer.with(Router(context: BasicRequestContext.self)) { taken in
            let second = Application(router: Router(context: BasicRequestContext.self),
                                     configuration: .init(address: .hostname("127.0.0.1", port: taken)))
            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) {
                try await LiveServer.withPort({ _ in try await second.runService() }) { _ in Issue.record("bound a taken port") }
            }
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }
}
