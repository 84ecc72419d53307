import FraudCore

/// Whether a batch changes the windows or only reads them (`POST /v1/score?dry_run=true`).
public enum StoreMode: Sendable {
    case update
    case readOnly
}

/// Per-batch facts the caller reports in metrics and decisions.
public struct BatchReport: Sendable, Equatable {
    /// Events whose payment_id the store had already seen within its horizon: they changed no window.
    public var duplicates: Int = 0
    /// Events older than the allowed lateness for some key: read, but not added to that key's windows.
    public var tooLate: Int = 0

    public init(duplicates: Int = 0, tooLate: Int = 0) {
        self.duplicates = duplicates
        self.tooLate = tooLate
    }
}

/// A sliding-window feature store: the in-memory ring buffers or Redis, behind one protocol.
///
/// Semantics (docs/features.md states them with a worked example): event time, not arrival time.
/// The features of event e at time t cover every distinct event that arrived before e, or is e,
/// with the same key and time in (t − W, t]. A repeated payment_id changes no window.
public protocol FeatureStore: Sendable {
    /// Processes a batch in order. For each event: add it to its keys' windows (unless `mode` is
    /// `.readOnly`, it is a duplicate, or it is too late), then read every feature of `plan`.
    ///
    /// - Parameter out: resized to `events.count * plan.count` and filled row-major (one row per
    ///   event, one column per feature in plan order). A missing value (an average over no events,
    ///   seconds since a first event that does not exist) is `Double.nan`.
    /// - Throws: `FeatureStoreError.unavailable` when the backing service cannot be reached; the
    ///   caller falls back to local windows and marks the decisions degraded.
    func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport
}

public enum FeatureStoreError: Error, Sendable, CustomStringConvertible {
    /// The store's backing service is unreachable or did not answer in time. Part of the batch may
    /// have been applied (a timed-out call can still finish on the server); stores must be
    /// idempotent per payment so that sending the batch again gives the values one call would.
    case unavailable(String)
    /// The store answered but the answer broke the store's protocol (a bug or a version mismatch).
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "feature store unavailable: \(why)"
        case .protocolViolation(let why): "feature store protocol violation: \(why)"
        }
    }
}
