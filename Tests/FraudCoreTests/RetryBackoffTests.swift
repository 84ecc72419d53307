import FraudCore
import Testing

@Suite("RetryBackoff")
struct RetryBackoffTests {
    @Test("doubles after each retry, stops at the maximum, and starts over after reset")
    func doublesCapsAndResets() {
        var backoff = RetryBackoff(initial: .milliseconds(1), maximum: .milliseconds(5))
        #expect((0..<5).map { _ in backoff.next() } == [.milliseconds(1), .milliseconds(2), .milliseconds(4), .milliseconds(5), .milliseconds(5)])
        backoff.reset()
        #expect(backoff.next() == .milliseconds(1))
    }

    @Test("the default: 100 ms, doubling to 5 s")
    func defaults() {
        var backoff = RetryBackoff()
        #expect((0..<8).map { _ in backoff.next() } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5),
        ])
    }
}
