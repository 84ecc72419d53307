import Logging
import PostgresNIO
import Testing
@testable import Services
import LocalStackSupport

private struct BodyFailed: Error, Equatable {}

@Suite("PostgreSQL pool lifetime (real PostgreSQL)", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct DatabaseRunTests {
    @Test("whileRunning: the first query finds the pool running (no lease warning), the body's result and error pass through, the pool is closed after")
    func whileRunning() async throws {
        let warnings = LogCapture(minimumLevel: .warning)
        let logger = warnings.logger
        // Several pools, each querying the moment its body starts: with the child task only
        // added (not yet inside run()), a loaded machine logged the lease warning on most starts.
        for round in 1...8 {
            let database = Database(url: try Integration.postgresURL, maximumConnections: 1, logger: logger)
            let value = try await database.client.whileRunning {
                var answer: Int?
                for try await row in try await database.client.query("SELECT \(round)::INT", logger: logger).decode(Int.self) {
                    answer = row
                }
                return answer
            }
            #expect(value == round)
            await #expect(throws: (any Error).self) {
                try await database.client.query("SELECT 1", logger: logger)
            }
        }
        let failing = Database(url: try Integration.postgresURL, maximumConnections: 1, logger: logger)
        await #expect(throws: BodyFailed()) {
            try await failing.client.whileRunning { throw BodyFailed() }
        }
        #expect(warnings.all.map(\.message).filter { $0.contains("hasn't been called") } == [])
    }
}
