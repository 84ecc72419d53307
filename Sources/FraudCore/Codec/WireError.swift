/// The failure a wire-format parser raises internally: what went wrong, in which field, and where.
///
/// The public error types (`EventDecodingError`, `DecisionDecodingError`) are built from it once the
/// decoder knows the payment id, so the hot path never formats a message it does not need.
struct WireError: Error {
    var kind: EventDecodingError.Kind
    /// The field the value belongs to (`amount_minor`, `metadata.scenario`), nil for syntax errors.
    var field: String?
    /// Human explanation: what was found and how to fix it.
    var reason: String
    /// The offending value's text, kept for messages completed later (the float-amount suggestion).
    var valueText: String?

    init(_ kind: EventDecodingError.Kind, field: String? = nil, _ reason: String, valueText: String? = nil) {
        self.kind = kind
        self.field = field
        self.reason = reason
        self.valueText = valueText
    }

    static func syntax(at offset: Int, _ reason: String) -> WireError {
        WireError(.syntax, "malformed JSON at byte \(offset): \(reason)")
    }
}

/// Renders untrusted text for an error message: quoted, control characters escaped, cut to a
/// readable length so a hostile payload cannot blow up a log line.
func quotedPreview(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 40) -> String {
    var out = "\""
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(limit)), as: UTF8.self)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += "\\u" + hex4(UInt16(scalar.value))
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + (bytes.count > limit ? "…\"" : "\"")
}

func quotedPreview(_ text: String, limit: Int = 40) -> String {
    var text = text
    return text.withUTF8 { quotedPreview($0, limit: limit) }
}

func hex4(_ value: UInt16) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return String(decoding: [12, 8, 4, 0].map { digits[Int(value >> $0) & 0xF] }, as: UTF8.self)
}
