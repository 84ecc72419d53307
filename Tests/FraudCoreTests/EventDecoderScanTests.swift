import Testing
@testable import FraudCore

/// The decoder's fast paths: strings scanned eight bytes at a time, and keys matched in place
/// when they come in canonical order. Each case puts the byte that ends the fast path at every
/// offset of a word, so a wrong mask or a missed boundary shows up as a wrong value or error.
@Suite("Event decoder fast paths")
struct EventDecoderScanTests {
    static let base = EventDecoderTests.base

    @Test("A quote escape, a backslash escape and a non-ASCII character are found at every offset of a 24-byte string", arguments: 0..<24)
    func specialByteAtEveryOffset(offset: Int) throws {
        let head = String(repeating: "a", count: offset), tail = String(repeating: "z", count: 23 - offset)
        let cases: [(raw: String, value: String)] = [
            (head + #"\""# + tail, head + "\"" + tail),
            (head + #"\\"# + tail, head + "\\" + tail),
            (head + "é" + tail, head + "é" + tail),
            (head + #"\u0041"# + tail, head + "A" + tail),
        ]
        for (raw, value) in cases {
            let event = try EventDecoder().decode(Self.base.replacing("merchant_id", with: "\"\(raw)\"").text)
            #expect(event.merchantID == value)
        }
    }

    @Test("A raw control character is rejected at every offset of a 24-byte string", arguments: 0..<24)
    func controlByteAtEveryOffset(offset: Int) throws {
        var bytes = Array(Self.base.replacing("merchant_id", with: "\"" + String(repeating: "m", count: 24) + "\"").text.utf8)
        let start = try #require(bytes.firstRange(of: Array(#""merchant_id":""#.utf8))).upperBound
        bytes[start + offset] = 0x09
        let error = try #require(throws: EventDecodingError.self) { try EventDecoder().decode(bytes) }
        #expect(error.description == #"payment "p-17": malformed JSON at byte \#(start + offset): control character byte 0x9 inside a string (escape it as \n, \t or \u00XX)"#)
    }

    @Test("Keys matched in place and keys matched by scanning give the same event, in canonical, shuffled and spaced forms")
    func predictedAndScannedKeysAgree() throws {
        let canonical = Self.base.text
        var shuffled = Self.base
        shuffled.members = stride(from: 0, to: shuffled.members.count, by: 2).map { shuffled.members[$0] }
            + stride(from: 1, to: shuffled.members.count, by: 2).map { shuffled.members[$0] }
        let spaced = canonical.replacing("\":", with: "\" \t: ")
        for text in [canonical, shuffled.text, spaced] {
            #expect(try EventDecoder().decode(text) == EventJSON.validEvent)
        }
    }

    @Test("A key repeated right after itself is still a duplicate when the in-place match is taken")
    func duplicateOfPredictedKey() throws {
        let text = Self.base.text.replacing(#""account_id":"#, with: #""account_id":"x","account_id":"#)
        let error = try #require(throws: EventDecodingError.self) { try EventDecoder().decode(text) }
        #expect(error.description.hasSuffix(#"field "account_id": appears twice (each field may appear once per event)"#))
    }
}
