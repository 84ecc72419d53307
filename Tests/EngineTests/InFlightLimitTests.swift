@testable import Engine
import Testing

private func message(bytes: Int) -> OutgoingMessage {
    OutgoingMessage(topic: "payments-dlq", key: nil, value: [UInt8](repeating: 0x20, count: bytes))
}

@Suite("In-flight limit: messages and bytes awaiting acknowledgement")
struct InFlightLimitTests {
    typealias Units = InFlightLimit.Units

    /// Starts `acquire(units)` and returns once it holds the units or waits for them.
    private func acquire(_ limit: InFlightLimit, _ units: Units) async -> Task<Void, Never> {
        let (heldBefore, waitingBefore) = (await limit.holding, await limit.waiting)
        let task = Task { await limit.acquire(units) }
        while true {
            let (holding, waiting) = (await limit.holding, await limit.waiting)
            if waiting > waitingBefore || holding != heldBefore { return task }
            await Task.yield()
        }
    }

    @Test("bytes bound what is held even when the message count would allow more")
    func bytesBound() async {
        let limit = InFlightLimit(messages: 100, bytes: 1000)
        await limit.acquire(Units(messages: 1, bytes: 600))
        let second = await acquire(limit, Units(messages: 1, bytes: 600))
        #expect(await limit.waiting == 1, "600 + 600 bytes passed a 1000-byte limit")
        #expect(await limit.holding == Units(messages: 1, bytes: 600))
        await limit.release(Units(messages: 1, bytes: 600))
        await second.value
        #expect(await limit.holding == Units(messages: 1, bytes: 600))
    }

    @Test("a message larger than the whole byte limit goes alone: at once when nothing is held, and nothing joins it")
    func oversizedAlone() async {
        let limit = InFlightLimit(messages: 100, bytes: 1000)
        await limit.acquire(Units(messages: 1, bytes: 5000))
        #expect(await limit.holding == Units(messages: 1, bytes: 5000))
        let small = await acquire(limit, Units(messages: 1, bytes: 10))
        #expect(await limit.waiting == 1)
        await limit.release(Units(messages: 1, bytes: 5000))
        await small.value
        // Behind a held small one, a large one waits for it, then goes alone.
        let large = await acquire(limit, Units(messages: 1, bytes: 5000))
        #expect(await limit.waiting == 1)
        await limit.release(Units(messages: 1, bytes: 10))
        await large.value
        #expect(await limit.holding == Units(messages: 1, bytes: 5000))
    }

    @Test("first come, first served: a small acquirer does not overtake a waiting large one; the message count still bounds")
    func fifoAndCount() async {
        let limit = InFlightLimit(messages: 3, bytes: 1000)
        await limit.acquire(Units(messages: 1, bytes: 900))
        let large = await acquire(limit, Units(messages: 1, bytes: 500))
        let small = await acquire(limit, Units(messages: 1, bytes: 50))
        #expect(await limit.waiting == 2, "the small one overtook the waiting large one")
        await limit.release(Units(messages: 1, bytes: 900))
        await large.value
        await small.value
        #expect(await limit.holding == Units(messages: 2, bytes: 550))
        let third = await acquire(limit, Units(messages: 2, bytes: 2))
        #expect(await limit.waiting == 1, "5 messages passed a limit of 3")
        await limit.release(Units(messages: 2, bytes: 550))
        await third.value
    }

    @Test("a batch is cut into parts that each fit the byte limit, in order; a message over it is a part of its own; the count does not cut")
    func parts() {
        let limit = InFlightLimit(messages: 2, bytes: 1000)
        let sizes = [400, 400, 400, 2500, 100, 100, 900, 0]
        let parts = limit.parts(of: sizes.map { message(bytes: $0) })
        #expect(parts.map { $0.map(\.value.count) } == [[400, 400], [400], [2500], [100, 100], [900, 0]])
        #expect(limit.parts(of: (0..<5).map { _ in message(bytes: 1) }).map(\.count) == [5])
        #expect(limit.parts(of: []).map(\.count) == [0])
        #expect(message(bytes: 10).byteCount == 10)
        #expect(OutgoingMessage(topic: "t", key: [1, 2], value: [3], headers: [("ab", [4, 5, 6])]).byteCount == 8)
    }
}
