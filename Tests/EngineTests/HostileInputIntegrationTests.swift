import Engine
import FraudCore
import Kafka
import Testing
import LocalStackSupport

@Suite("Hostile messages on payments, against the real broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct HostileInputIntegrationTests {
    /// A valid event's JSON with one field's raw JSON value replaced.
    private static func event(_ id: String, replacing field: String? = nil, with raw: String = "") -> [UInt8] {
        var fields: [(String, String)] = [
            ("payment_id", "\"\(id)\""), ("occurred_at", "1795948200000"), ("account_id", "\"acct-hostile\""),
            ("card_fingerprint", "\"card-hostile\""), ("device_id", "\"dev-1\""), ("ip", "\"203.0.113.9\""),
            ("merchant_id", "\"m-1\""), ("mcc", "\"5411\""), ("amount_minor", "1500"), ("currency", "\"USD\""),
            ("card_country", "\"US\""), ("ip_country", "\"US\""), ("channel", "\"ecom\""), ("type", "\"payment\""),
        ]
        if let field {
            if let index = fields.firstIndex(where: { $0.0 == field }) { fields[index].1 = raw } else { fields.append((field, raw)) }
        }
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    /// An engine on one payments partition (dead letters in input order), and a run id for names.
    private static func harness(version: String) throws -> (EngineHarness, UInt64) {
        let harness = try EngineHarness(rules: """
        version "\(version)"
        rule big: review +10 if amount > 500.00 USD
        """, paymentPartitions: 1)
        return (harness, LocalStack.runID())
    }

    @Test("bad JSON, huge strings, negative amounts, unknown currencies, deep nesting, invalid UTF-8 and empty messages go to the DLQ with their bytes, reason and source; the rest is decided")
    func deadLetters() async throws {
        let (harness, run) = try Self.harness(version: "hostile-it-1")
        let nested = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        // A device id whose '~' becomes the bytes FF FE, which are not UTF-8.
        let invalidUTF8 = Self.event("hostile-\(run)-utf8", replacing: "device_id", with: "\"dev-~\"")
            .flatMap { $0 == UInt8(ascii: "~") ? [0xFF, 0xFE] : [$0] }
        let hostile: [(bytes: [UInt8], kind: String)] = [
            // Cut off where a value should be: the decoder names the field it was reading.
            (Array(#"{"payment_id":"hostile-bad-json","occurred_at":"#.utf8), "wrongType"),
            (Self.event("hostile-\(run)-huge", replacing: "merchant_id", with: "\"" + String(repeating: "m", count: 40_000) + "\""), "tooLong"),
            (Self.event("hostile-\(run)-negative", replacing: "amount_minor", with: "-1500"), "negativeAmount"),
            (Self.event("hostile-\(run)-currency", replacing: "currency", with: "\"XQZ\""), "unknownCurrency"),
            (Self.event("hostile-\(run)-nested", replacing: "extra", with: nested), "syntax"),
            (invalidUTF8, "invalidValue"),
            ([], "syntax"),
            (Array(repeating: UInt8(ascii: " "), count: 70_000), "oversized"),
            // Valid, but dated far ahead of the clock: it would raise the card's and account's
            // watermarks (and the store's clock) past every real-time event.
            (Self.event("hostile-\(run)-future", replacing: "occurred_at", with: "\"2099-01-01T00:00:00Z\""), "futureTime"),
        ]
        // Each hostile message between two valid payments: the engine must keep deciding.
        var messages: [(key: String, value: [UInt8])] = []
        var valid: [String] = []
        for (index, entry) in hostile.enumerated() {
            valid.append("hostile-\(run)-ok-\(index)")
            messages.append(("acct-hostile", Self.event(valid.last!)))
            messages.append(("acct-hostile", entry.bytes))
        }
        valid.append("hostile-\(run)-ok-last")
        messages.append(("acct-hostile", Self.event(valid.last!)))
        let landed = try await harness.produce(messages)
        harness.start()

        let decisions = try await harness.decisions(valid.count, timeout: .seconds(60))
        #expect(decisions.map { String(decoding: $0.key ?? [], as: UTF8.self) } == valid)
        let letters = try await harness.deadLetters(hostile.count, timeout: .seconds(30))
        try await harness.stop()

        #expect(letters.count == hostile.count)
        for (index, (letter, entry)) in zip(letters, hostile).enumerated() {
            let source = landed[index * 2 + 1]
            let headers = Dictionary(letter.headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
            #expect(letter.value == entry.bytes, "dead letter \(index) keeps the original bytes")
            #expect(headers["waqiti-error-kind"] == entry.kind, "dead letter \(index): \(headers["waqiti-error"] ?? "")")
            #expect(headers["waqiti-source-topic"] == harness.configuration.kafka.paymentsTopic)
            #expect(headers["waqiti-source-partition"] == String(source.partition))
            #expect(headers["waqiti-source-offset"] == String(source.offset))
            #expect(headers["waqiti-error"]?.isEmpty == false)
        }
    }

    @Test("a payment of 1.5 MB is dead-lettered cut to DeadLetter.maxValueBytes with its original length; the payments around it are decided and SIGTERM completes")
    func megabyteDeadLetter() async throws {
        let (harness, run) = try Self.harness(version: "hostile-it-2")
        // Over librdkafka's default message.max.bytes (1,000,000): published whole, this dead
        // letter was refused by the producer and the pipeline retried it forever.
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 1_500_000)
        let valid = ["hostile-\(run)-before", "hostile-\(run)-after"]
        let landed = try await harness.produce([
            ("acct-hostile", Self.event(valid[0])), ("acct-hostile", huge), ("acct-hostile", Self.event(valid[1])),
        ])
        harness.start()

        let decisions = try await harness.decisions(valid.count, timeout: .seconds(60))
        let letters = try await harness.deadLetters(1, timeout: .seconds(30))
        try await harness.stop()

        #expect(decisions.map { String(decoding: $0.key ?? [], as: UTF8.self) } == valid)
        #expect(letters.count == 1)
        guard let letter = letters.first else { return }
        let headers = Dictionary(letter.headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
        #expect(letter.value == Array(huge.prefix(DeadLetter.maxValueBytes)))
        #expect(headers[DeadLetter.originalValueLengthHeader] == "1500000")
        #expect(headers[DeadLetter.kindHeader] == "oversized")
        #expect(headers[DeadLetter.offsetHeader] == String(landed[1].offset))
    }
}
