import Foundation
import Testing
import Allocator

/// jemalloc must serve the process's allocations, not merely be linked: if glibc's malloc still
/// won the symbol look-up, jemalloc's counters would not move when Swift allocates.
/// Serialized, and the blocks are large: the counters are process-wide, so the two tests (and
/// other suites' tests running meanwhile) move them too; 256 MiB dwarfs what those free in between.
@Suite("The allocator is jemalloc", .serialized)
struct AllocatorTests {
    static let blockSize = 256 << 20

    @Test("Names jemalloc and its version")
    func description() {
        let text = Allocator.description
        #expect(text.hasPrefix("jemalloc 5."), "got \(text)")
    }

    @Test("Swift's own allocations and frees move jemalloc's allocated bytes by their size")
    func servesSwiftAllocations() throws {
        let before = try #require(Allocator.allocatedBytes())
        let size = Self.blockSize
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
        let during = try #require(Allocator.allocatedBytes())
        block.deallocate()
        let after = try #require(Allocator.allocatedBytes())
        #expect(during - before >= size - size / 2, "allocated bytes grew by \(during - before), expected about \(size)")
        #expect(during - after >= size - size / 2, "allocated bytes fell by \(during - after) on free, expected about \(size)")
    }

    @Test("A buffer from C's malloc (as hiredis and librdkafka allocate) is counted too")
    func servesCMalloc() throws {
        let before = try #require(Allocator.allocatedBytes())
        let size = Self.blockSize
        let block = try #require(malloc(size))
        memset(block, 1, size)
        let during = try #require(Allocator.allocatedBytes())
        free(block)
        #expect(during - before >= size - size / 2, "allocated bytes grew by \(during - before), expected about \(size)")
    }
}
