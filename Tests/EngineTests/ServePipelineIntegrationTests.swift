import Engine
import Foundation
import FraudCore
import Kafka
import Testing
import LocalStackSupport

@Suite("waqiti serve pipeline against the real broker and Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ServePipelineIntegrationTests {
    @Test("simulated payments in, exactly one decision per payment_id out (redeliveries identical), bad messages and a reused payment_id dead-lettered, offsets committed")
    func endToEnd() async throws {
        let harness = try EngineHarness(rules: """
        version "it-1"
        rule card_velocity: decline +50 if count(card_fingerprint, 10m) >= 4
        rule big: review +10 if amount > 500.00 USD
        """)
        let run = LocalStack.runID()
        // 2,000 payments (WAQITI_IT_EVENTS to change it) from 40 accounts, then the first 200
        // again (redeliveries), then 3 bad messages and the first payment's id reused for another
        // amount (on the first payment's partition, after it).
        let count = max(200, Int(ProcessInfo.processInfo.environment["WAQITI_IT_EVENTS"] ?? "") ?? 2000)
        func event(_ i: Int) -> (key: String, value: [UInt8]) {
            let ms = 1_795_948_200_000 + Int64(i) * 1000
            return ("acct-\(i % 40)", Array("""
            {"payment_id":"it-\(run)-\(i)","occurred_at":\(ms),"account_id":"acct-\(i % 40)","card_fingerprint":"card-\(i % 40)","device_id":"dev-\(i % 7)","ip":"203.0.113.\(i % 200)","merchant_id":"m-\(i % 13)","mcc":"5411","amount_minor":\(1000 + (i * 7919) % 90000),"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
            """.utf8))
        }
        var messages = (0..<count).map(event) + (0..<200).map(event)
        messages += ["{\"payment_id\": 7}", "not json at all", String(repeating: "x", count: 70_000)].map { ("acct-bad", Array($0.utf8)) }
        let first = event(0)
        let reused = Array(String(decoding: first.value, as: UTF8.self).replacing("\"amount_minor\":1000,", with: "\"amount_minor\":1001,").utf8)
        #expect(reused != first.value)
        messages.append((first.key, reused))
        try await harness.produce(messages)
        harness.start()

        var decisions: [String: [[UInt8]]] = [:]
        let received = try await harness.decisions(count + 200, timeout: .seconds(120 + count / 500))
        for message in received { decisions[String(decoding: message.key ?? [], as: UTF8.self), default: []].append(message.value) }
        let letters = try await harness.deadLetters(4, timeout: .seconds(30))
        try await harness.stop()

        #expect(received.count == count + 200)
        #expect(decisions.count == count)
        #expect(decisions.values.filter { $0.count == 2 }.count == 200)
        #expect(decisions.values.allSatisfy { Set($0).count == 1 }, "a redelivered payment gets a byte-identical decision")
        #expect(letters.count == 4)
        let reasons = letters.map { message in message.headers.first { $0.name == "waqiti-error-kind" }.flatMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } }
        #expect(reasons.contains("oversized"))
        #expect(reasons.filter { $0 == "payment_id_reused" }.count == 1)
        #expect(letters.contains { $0.value == reused }, "the reused id's message, as it was produced")
        #expect(letters.allSatisfy { $0.headers.contains { $0.name == "waqiti-source-offset" } })
        // Every payment was committed: a fresh member of the group would start at the end.
        let topic = harness.configuration.kafka.paymentsTopic
        let committedReader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: harness.client, groupID: harness.configuration.kafka.groupID))
        let committed = try committedReader.committed((0..<3).map { KafkaTopicPartition(topic: topic, partition: $0) })
        #expect(committed.values.reduce(0, +) == Int64(count + 200 + 3 + 1))
        committedReader.close()
    }
}
