/// How a batch request frames its events: a JSON array or JSON Lines.
enum BatchFraming: Equatable {
    case array, lines

    enum Split: Equatable {
        case success([Range<Int>])
        case failure(String)
    }

    static func detect(_ bytes: some Collection<UInt8>) -> BatchFraming {
        bytes.first { !isWhitespace($0) } == UInt8(ascii: "[") ? .array : .lines
    }

    /// The byte range of each event. For arrays, splits the top level at commas outside strings
    /// and nested values; the event decoder then validates each element in full.
    func split(_ bytes: [UInt8]) -> Split {
        switch self {
        case .lines:
            var ranges: [Range<Int>] = []
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "\n") {
                if let range = Self.trimmed(start..<index, in: bytes) { ranges.append(range) }
                start = index + 1
            }
            return .success(ranges)
        case .array:
            guard let open = bytes.firstIndex(of: UInt8(ascii: "[")),
                  let close = bytes.lastIndex(where: { !Self.isWhitespace($0) }), bytes[close] == UInt8(ascii: "]"), close > open
            else { return .failure("a batch that starts with '[' must be one JSON array of events") }
            var ranges: [Range<Int>] = []
            var depth = 0, inString = false, escaped = false, start = open + 1
            for index in (open + 1)..<close {
                let byte = bytes[index]
                if inString {
                    if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth < 0 { return .failure("unbalanced brackets in the batch array at byte \(index)") }
                case UInt8(ascii: ",") where depth == 0:
                    guard let range = Self.trimmed(start..<index, in: bytes) else { return .failure("empty element at byte \(index) of the batch array") }
                    ranges.append(range)
                    start = index + 1
                default: break
                }
            }
            guard depth == 0, !inString else { return .failure("the batch array ends inside an event") }
            if let range = Self.trimmed(start..<close, in: bytes) {
                ranges.append(range)
            } else if !ranges.isEmpty {
                return .failure("trailing comma in the batch array")
            }
            return .success(ranges)
        }
    }

    /// The range without surrounding whitespace; nil when nothing else is left.
    static func trimmed(_ range: Range<Int>, in bytes: [UInt8]) -> Range<Int>? {
        guard let first = bytes[range].firstIndex(where: { !isWhitespace($0) }),
              let last = bytes[range].lastIndex(where: { !isWhitespace($0) }) else { return nil }
        return first..<(last + 1)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09
    }
}
