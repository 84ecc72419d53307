import Testing
@testable import Engine

@Suite("Buffer pool")
struct BufferPoolTests {
    @Test("a given buffer's storage is the next taker's, up to the pool's limit")
    func reuse() {
        let pool = BufferPool<Double>(keeping: 2)
        #expect(pool.take().capacity == 0)
        var buffer = pool.take()
        buffer.append(contentsOf: repeatElement(1, count: 1000))
        let address = buffer.withUnsafeBufferPointer { $0.baseAddress }
        pool.give(buffer)
        buffer = []
        let again = pool.take()
        #expect(again.withUnsafeBufferPointer { $0.baseAddress } == address)
        #expect(again.capacity >= 1000)
        pool.give([1])
        pool.give([2])
        pool.give([3])
        #expect(pool.keptCount == 2)
    }
}
