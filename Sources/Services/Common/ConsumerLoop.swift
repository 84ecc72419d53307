#if canImport(Glibc)
import Glibc
#endif
import FraudCore
import Logging
import ServiceLifecycle

/// Polls a topic, hands each batch to `handle`, and commits the batch's offsets only after
/// `handle` returned, i.e. after its database transaction committed. A crash in between redelivers
/// the batch; handlers are idempotent by payment id, so the redelivery has no further effect.
///
/// A failing batch is retried (with backoff) rather than skipped: skipping would commit past
/// money that was never moved.
public struct ConsumerLoop: Service {
    let name: String
    let source: any RecordSource
    let maxRecords: Int
    let handle: @Sendable ([ConsumedRecord]) async throws -> Void
    let logger: Logger
    /// Fault injection for acceptance tests: after this many handled batches the process dies
    /// between the database commit and the offset commit, the window redelivery must survive.
    let crashBeforeCommitAfterBatches: Int?

    public init(name: String, source: any RecordSource, maxRecords: Int = 500, crashBeforeCommitAfterBatches: Int? = nil,
                logger: Logger, handle: @escaping @Sendable ([ConsumedRecord]) async throws -> Void) {
        self.name = name
        self.source = source
        self.maxRecords = maxRecords
        self.crashBeforeCommitAfterBatches = crashBeforeCommitAfterBatches
        self.handle = handle
        self.logger = logger
    }

    public func run() async throws {
        defer { logger.info("consumer stopped", metadata: ["consumer": "\(name)"]) }
        var backoff = RetryBackoff()
        var handled = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let batch: [ConsumedRecord]
            do {
                batch = try await source.poll(maxRecords: maxRecords)
            } catch {
                let wait = backoff.next()
                logger.error("poll failed; retrying", metadata: [
                    "consumer": "\(name)", "error": "\(error)", "retry_in": "\(wait)",
                ])
                try? await Task.sleep(for: wait)
                continue
            }
            guard !batch.isEmpty else { continue }
            while true {
                do {
                    try await handle(batch)
                    handled += 1
                    if let crashAfter = crashBeforeCommitAfterBatches, handled >= crashAfter {
                        logger.critical("fault injection: exiting before committing the batch's offsets", metadata: [
                            "consumer": "\(name)", "records": "\(batch.count)", "batches": "\(handled)",
                        ])
                        _exit(75)
                    }
                    try await source.commit(batch)
                    backoff.reset()
                    break
                } catch {
                    let wait = backoff.next()
                    logger.error("batch failed; retrying the same batch", metadata: [
                        "consumer": "\(name)", "records": "\(batch.count)",
                        "first_offset": "\(batch[0].offset)", "error": "\(String(reflecting: error))",
                        "retry_in": "\(wait)",
                    ])
                    // Shutting down mid-retry leaves the offsets uncommitted: the next start redelivers.
                    if Task.isShuttingDownGracefully || Task.isCancelled { return }
                    try? await Task.sleep(for: wait)
                }
            }
        }
        await source.close()
    }
}
