import Foundation
import Simulation
import Testing
import LocalStackSupport
@testable import FraudCore

@Suite("CSV events", .temporaryFolder)
struct CSVEventTests {
    static let header = "payment_id,occurred_at,account_id,card_fingerprint,device_id,ip,merchant_id,mcc,amount_minor,currency,card_country,ip_country,channel,type,beneficiary_id,label"

    static func file(_ text: String) throws -> String {
        try JSONLinesReaderTests.temporaryFile(Array(text.utf8), name: "events.csv")
    }

    @Test("RFC 4180 quoting, CRLF, BOM, metadata columns, ignored columns, padded MCC", arguments: [1, 5, 4096])
    func quoting(chunkBytes: Int) throws {
        let text = "\u{FEFF}payment_id,occurred_at,account_id,card_fingerprint,device_id,ip,merchant_id,mcc,amount_minor,currency,card_country,ip_country,channel,type,beneficiary_id,note,metadata.scenario,metadata.memo\r\n"
            + "p-1,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,\"Café, \"\"Zürich\"\"\",742,1250,USD,US,US,ecom,payment,,ignored,,\"two\r\nlines\"\r\n"
            + "\r\n"
            + "p-2,1795940130123,acc_2,card_2,dev_2,10.0.0.2,m_2,5411,0,JPY,JP,JP,p2p,transfer,ben_9,x,mule_fan_in,\"\"\n"
        let reader = try CSVEventReader(path: try Self.file(text), chunkBytes: chunkBytes)
        let batch = try #require(try reader.nextBatch(maxRecords: 10))
        #expect(batch.errors.isEmpty)
        #expect(batch.lineNumbers == [2, 5])
        #expect(batch.events == [
            PaymentEvent(paymentID: "p-1", occurredAt: EventTime(millisecondsSinceEpoch: 1_795_940_130_123), accountID: "acc_1",
                         cardFingerprint: "card_1", deviceID: "dev_1", ip: "10.0.0.1", merchantID: "Café, \"Zürich\"", mcc: "0742",
                         amount: Money(minorUnits: 1250, currency: .usd), cardCountry: "US", ipCountry: "US", channel: .ecom,
                         type: .payment, metadata: ["memo": "two\r\nlines"]),
            PaymentEvent(paymentID: "p-2", occurredAt: EventTime(millisecondsSinceEpoch: 1_795_940_130_123), accountID: "acc_2",
                         cardFingerprint: "card_2", deviceID: "dev_2", ip: "10.0.0.2", merchantID: "m_2", mcc: "5411",
                         amount: Money(minorUnits: 0, currency: Currency("JPY")!), cardCountry: "JP", ipCountry: "JP", channel: .p2p,
                         type: .transfer, beneficiaryID: "ben_9", metadata: ["scenario": "mule_fan_in"]),
        ])
        #expect(try reader.nextBatch(maxRecords: 10) == nil)
    }

    @Test("Bad records become errors with file:line; good ones around them survive")
    func badRecords() throws {
        let good = "p-1,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,m_1,5411,1250,USD,US,US,ecom,payment,,"
        let text = Self.header + "\n"
            + good + "\n"
            + "p-2,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,m\"1,5411,1250,USD,US,US,ecom,payment,,\n"
            + "p-3,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,m_1,5411,12.5,USD,US,US,ecom,payment,,\n"
            + "p-4,2026-11-29T08:15:30.123Z,acc_1\n"
            + "p-5,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,m_1,5411,12x,USD,US,US,ecom,payment,,\n"
            + "p-6,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,\"m\"x,5411,1,USD,US,US,ecom,payment,,\n"
            + good + "fraud\n"
            + "p-8,2026-11-29T08:15:30.123Z,,card_1,dev_1,10.0.0.1,m_1,5411,1,USD,US,US,ecom,payment,,\n"
            + "p-9,\"unclosed"
        let path = try Self.file(text)
        let batch = try CSVEventReader.readAll(path: path)
        #expect(batch.events.map(\.paymentID) == ["p-1", "p-1"])
        #expect(batch.events.map(\.label) == [nil, .fraud])
        #expect(batch.lineNumbers == [2, 8])
        #expect(batch.errors.map(\.description) == [
            "\(path):3: malformed CSV: a quote inside an unquoted field (quote the whole field and double inner quotes: \"a \"\"b\"\"\")",
            "\(path):4: payment \"p-3\": field \"amount_minor\": expected an integer number of minor units, got 12.5 (money is never a float: send 1250 with \"currency\": \"USD\")",
            "\(path):5: payment \"p-4\": malformed CSV: expected 16 fields as in the header, found 3",
            "\(path):6: payment \"p-5\": field \"amount_minor\": expected an integer number of minor units, got \"12x\"",
            "\(path):7: malformed CSV: unexpected character after a closing quote (a quoted field ends at ',' or the end of the line)",
            "\(path):9: payment \"p-8\": field \"account_id\": must not be empty",
            "\(path):10: malformed CSV: the file ends inside a quoted field (missing closing quote)",
        ])
        #expect(batch.errors[0].rawLine == Array("p-2,2026-11-29T08:15:30.123Z,acc_1,card_1,dev_1,10.0.0.1,m\"1,5411,1250,USD,US,US,ecom,payment,,".utf8))
    }

    @Test("A header without required columns is rejected up front")
    func badHeader() throws {
        let path = try Self.file("payment_id,occurred_at,amount_minor\n")
        let error = try #require(throws: CSVHeaderError.self) { try CSVEventReader(path: path) }
        #expect(error.description == "\(path):1: the header lacks the required columns \"account_id\", \"card_fingerprint\", \"device_id\", \"ip\", \"merchant_id\", \"mcc\", \"currency\", \"card_country\", \"ip_country\", \"channel\", \"type\" (see docs/formats.md)")
        let duplicate = try Self.file(Self.header + ",ip\n")
        let error2 = try #require(throws: CSVHeaderError.self) { try CSVEventReader(path: duplicate) }
        #expect(error2.description == "\(duplicate):1: column \"ip\" appears twice in the header")
    }

    @Test("Writer output reads back as the same events")
    func roundTrip() throws {
        var random = TestRandom(seed: 7)
        let events = (0..<300).map { _ in
            var event = random.event()
            event.metadata = random.below(2) == 0 ? [:] : ["scenario": random.text(), "memo": random.text()]
            return event
        }
        let path = try Self.file("")
        let writer = try CSVEventWriter(output: FileOutput(path: path), metadataKeys: ["memo", "scenario"])
        for event in events { try writer.write(event) }
        try writer.close()
        let batch = try CSVEventReader.readAll(path: path)
        #expect(batch.errors.isEmpty, "\(batch.errors.first.map(String.init(describing:)) ?? "")")
        #expect(batch.events == events)
    }

    @Test("The writer refuses to drop metadata it has no column for")
    func undeclaredMetadata() throws {
        let writer = try CSVEventWriter(output: FileOutput(path: try Self.file("")), metadataKeys: ["scenario"])
        var event = EventJSON.validEvent
        event.metadata = ["channel_detail": "x"]
        let error = try #require(throws: CSVUndeclaredMetadataError.self) { try writer.write(event) }
        #expect(error.description == #"payment "p-17": metadata key "channel_detail" has no column (declare it in the writer's metadataKeys so nothing is dropped)"#)
    }
}
