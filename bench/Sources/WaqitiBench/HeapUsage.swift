/// Bytes the process's malloc heap has handed out and not taken back, from glibc's `malloc_info`:
/// memory obtained from the system (arenas + mmapped chunks) minus the free chunks malloc holds.
///
/// Unlike the resident-set size it does not count freed memory malloc keeps for reuse, nor miss
/// memory that reuses pages freed earlier, so a before/after difference is the live heap a data
/// structure added (allocator headers and slack included). `malloc_info` is not in the Glibc
/// module, hence the lookup by name; it only takes an int and a `FILE *`.
enum HeapUsage {
    private typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32

    /// nil when glibc's `malloc_info` is unavailable or its report cannot be read.
    static func liveBytes() -> Int? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_info"), let file = tmpfile() else { return nil }
        defer { fclose(file) }
        let mallocInfo = unsafeBitCast(symbol, to: MallocInfo.self)
        guard mallocInfo(0, file) == 0 else { return nil }
        rewind(file)
        var xml: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            xml.append(contentsOf: buffer[0..<n])
        }
        // The process-wide totals follow the last per-arena <heap> element.
        let tail = ArraySlice(xml[(lastIndex(of: Array("</heap>".utf8), in: xml) ?? 0)...])
        func size(_ tag: String) -> Int? {
            guard let start = firstIndex(of: Array(tag.utf8), in: tail),
                  let open = firstIndex(of: Array("size=\"".utf8), in: tail[start...]) else { return nil }
            let digits = tail[(open + 6)...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            return Int(String(decoding: digits, as: UTF8.self))
        }
        guard let system = size("<system type=\"current\""), let mmap = size("<total type=\"mmap\""),
              let fast = size("<total type=\"fast\""), let rest = size("<total type=\"rest\"") else { return nil }
        return system + mmap - fast - rest
    }

    private static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i + needle.count <= haystack.endIndex {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        var i = haystack.count - needle.count
        while i >= 0 {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }
}
