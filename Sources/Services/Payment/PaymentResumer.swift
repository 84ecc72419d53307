import Logging
import ServiceLifecycle

/// Carries on payments that stopped in `received` and whose client never retried.
///
/// A request stops there when the wallet's answer to the hold does not arrive (a timeout, a
/// dropped connection, a wallet restart): the client is told `503 retry_later`. The wallet may
/// have placed the hold all the same, and without a retry nothing would ever publish the payment
/// or settle the hold: the customer's funds stay held. Every `interval` this resumes payments
/// older than `after` (long past any request still in flight), a `batchSize` at a time, each
/// as its retry would (`PaymentProcessor.resume`). A payment it cannot carry on (the wallet is
/// still down) is tried again next round; reconciliation reports a hold left after its deadline
/// (`held_without_open_payment`).
public struct PaymentResumer: Service {
    let store: PaymentStore
    let processor: PaymentProcessor
    let after: Duration
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(store: PaymentStore, processor: PaymentProcessor, after: Duration = .seconds(60), interval: Duration = .seconds(15),
                batchSize: Int = 100, logger: Logger) {
        self.store = store
        self.processor = processor
        self.after = after
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do { try await resumeOnce() } catch {
                logger.error("resuming received payments failed; tried again next round", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One round; returns the payments carried on (those that left `received`).
    @discardableResult
    public func resumeOnce() async throws -> Int {
        var moved = 0
        for record in try await store.stuckReceived(olderThan: after, limit: batchSize) {
            do {
                let resumed = try await processor.resume(record)
                if resumed.status != .received { moved += 1 }
                logger.info("resumed a payment left received", metadata: [
                    "payment_id": "\(record.paymentID)", "status": "\(resumed.status.rawValue)",
                ])
            } catch {
                logger.warning("payment left received could not be resumed yet", metadata: [
                    "payment_id": "\(record.paymentID)", "error": "\(error)",
                ])
            }
        }
        return moved
    }
}
