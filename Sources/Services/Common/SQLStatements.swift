/// Splits a migration file into statements at top-level semicolons, since the extended query
/// protocol takes one statement at a time. Knows what may contain a semicolon without ending a
/// statement: `'…'` strings, `"…"` identifiers, `$tag$…$tag$` function bodies and `--` comments.
enum SQLStatements {
    static func split(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var i = 0
        func flush(upTo end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if !stripComments(text).allSatisfy(\.isWhitespace) { statements.append(text) }
        }
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                while i < bytes.count && bytes[i] != UInt8(ascii: "\n") { i += 1 }
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = bytes[i]
                i += 1
                while i < bytes.count && bytes[i] != quote { i += 1 }
                i += 1
            case UInt8(ascii: "$"):
                var end = i + 1
                while end < bytes.count && (bytes[end] == UInt8(ascii: "_") || (bytes[end] | 0x20) >= UInt8(ascii: "a") && (bytes[end] | 0x20) <= UInt8(ascii: "z")) { end += 1 }
                guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else { i += 1; continue }
                let tag = Array(bytes[i...end])
                i = end + 1
                while i + tag.count <= bytes.count && Array(bytes[i..<(i + tag.count)]) != tag { i += 1 }
                i += tag.count
            case UInt8(ascii: ";"):
                flush(upTo: i)
                i += 1
                start = i
            default:
                i += 1
            }
        }
        if start < bytes.count { flush(upTo: bytes.count) }
        return statements
    }

    private static func stripComments(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: "\n")
    }
}
