import Foundation
import Engine
import Testing
@testable import Services
import LocalStackSupport

/// A service whose task is cancelled stops, whatever it was doing: the payment service's outbox
/// relay runs a transaction every 20 ms, so a cancellation at a random moment often finds one in
/// flight. The pool used to be cancelled beside the services (both were children of one task
/// group), and a query that asked for a connection after the pool stopped waited for good: the
/// service never ended (a CI run failed on it, the test's server "did not stop within 20 s").
@Suite("Cancelled services stop", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct ServiceCancellationTests {
    @Test("the payment service cancelled at a random moment, 25 times on one database: it stops every time")
    func paymentServiceStopsWhenCancelled() async throws {
        try await TestDatabase.withURL { _, url in
            var configuration = ServicesConfiguration()
            configuration.postgresURL = url
            configuration.httpPort = 0
            configuration.apiKeys = ServiceAuthenticationTests.scopedKeys
            configuration.jwtSecret = ServiceAuthenticationTests.jwtSecret
            let settings = configuration
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<25 {
                let lifetime = Duration.milliseconds(Int.random(in: 0...60, using: &generator))
                try await LiveServer.withPort({ listening in
                    try await PlatformServices.runPayment(configuration: settings, messaging: IdleMessaging(),
                                                          logger: TestDatabase.logger, onServerRunning: listening)
                }) { _ in try await Task.sleep(for: lifetime) }
            }
        }
    }
}
