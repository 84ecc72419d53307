import Testing
@testable import Services

@Suite("RetryBackoff")
struct RetryBackoffTests {
    @Test("doubles after each wait, stops at the maximum, and starts over after reset")
    func doublesCapsAndResets() async {
        var backoff = RetryBackoff(initial: .milliseconds(1), maximum: .milliseconds(5))
        var seen: [Duration] = [backoff.next]
        for _ in 0..<4 {
            await backoff.wait()
            seen.append(backoff.next)
        }
        #expect(seen == [.milliseconds(1), .milliseconds(2), .milliseconds(4), .milliseconds(5), .milliseconds(5)])
        backoff.reset()
        #expect(backoff.next == .milliseconds(1))
    }

    @Test("the services' default: 100 ms, doubling to 5 s")
    func defaults() {
        let backoff = RetryBackoff()
        #expect(backoff.initial == .milliseconds(100))
        #expect(backoff.maximum == .seconds(5))
        #expect(backoff.next == .milliseconds(100))
    }
}
