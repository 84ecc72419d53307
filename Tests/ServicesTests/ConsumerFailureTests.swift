import Testing
@testable import Services

@Suite("Consumer failure classification")
struct ConsumerFailureTests {
    @Test("SQLSTATE classes", arguments: [
        // What the database says about itself: every record would fail alike, so retry.
        ("40001", ConsumerFailure.Kind.transient), ("40P01", .transient), ("57P01", .transient), ("57014", .transient),
        ("53300", .transient), ("53100", .transient), ("08006", .transient), ("55P03", .transient), ("25006", .transient),
        ("42P01", .transient), ("42501", .transient), ("XX000", .transient), ("58030", .transient),
        // What it says about a value: the same record fails the same way every time.
        ("22P05", .permanent), ("22021", .permanent), ("22001", .permanent), ("22003", .permanent), ("22008", .permanent),
        ("23514", .permanent), ("23502", .permanent), ("23503", .permanent), ("44000", .permanent), ("54000", .permanent),
        ("P0001", .permanent),
        // The wallet's idempotency guard colliding with a concurrent delivery: a retry resolves it.
        ("23505", .unclassified),
    ])
    func sqlState(_ sqlState: String, _ kind: ConsumerFailure.Kind) {
        #expect(ConsumerFailure.kind(ofSQLState: sqlState) == kind)
    }

    struct HandlerBug: Error {}

    @Test func anErrorFromOutsideTheDatabaseIsUnclassifiedAndNamedByItsReflection() {
        let failure = ConsumerFailure(classifying: HandlerBug())
        #expect(failure == ConsumerFailure(kind: .unclassified, sqlState: nil, message: "ServicesTests.ConsumerFailureTests.HandlerBug()"))
    }

    @Test func undecodableRecordsArePermanentWithEachRecordNamed() {
        let error = UndecodableRecords([
            .init(record: ConsumedRecord(topic: "fraud-decisions", partition: 3, offset: 41, key: nil, value: [0x7B]), reason: "not a decision: x"),
            .init(record: ConsumedRecord(topic: "fraud-decisions", partition: 3, offset: 44, key: nil, value: []), reason: "not a decision: y"),
        ])
        #expect(ConsumerFailure(classifying: error) == ConsumerFailure(
            kind: .permanent, sqlState: nil, message: "fraud-decisions/3@41: not a decision: x; fraud-decisions/3@44: not a decision: y"))
    }

    @Test func descriptionLeadsWithTheSQLState() {
        #expect(ConsumerFailure(kind: .permanent, sqlState: "22021", message: "invalid byte sequence").description == "22021: invalid byte sequence")
        #expect(ConsumerFailure(kind: .unclassified, sqlState: nil, message: "boom").description == "boom")
    }
}
