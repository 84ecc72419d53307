import Testing
@testable import Features

@Suite("Redis Cluster hash slots")
struct RedisKeySlotTests {
    /// Expected slots are what `CLUSTER KEYSLOT` answered on redis-server 7 with cluster mode on.
    @Test("Slots equal CLUSTER KEYSLOT, hash tags included", arguments: [
        ("123456789", 12739), ("foo", 12182), ("bar", 5061), ("hello", 866), ("somekey", 11058),
        ("{user1000}.following", 3443), ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061),
        ("waqiti:fw:{card_fingerprint:abc}:1f2e3d4c", 8201), ("{card_fingerprint:abc}", 8201),
    ])
    func matchesRedis(key: String, slot: Int) {
        #expect(RedisKeySlot.slot(of: key) == slot)
    }

    @Test("CRC16-XMODEM check value of \"123456789\" is 0x31C3")
    func checkValue() {
        #expect(RedisKeySlot.crc16(Array("123456789".utf8)) == 0x31C3)
    }

    @Test("Both keys of one entity, whatever the plan tag, share the entity's slot")
    func entityKeysShareASlot() {
        let keys = ["waqiti:fw:{account_id:acc-42}:1f2e3d4c", "waqiti:fw:{account_id:acc-42}:1f2e3d4c:s", "other:{account_id:acc-42}:9a"]
        #expect(Set(keys.map(RedisKeySlot.slot(of:))) == [RedisKeySlot.slot(of: "account_id:acc-42")])
    }
}
