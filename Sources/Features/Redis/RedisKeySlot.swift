/// The Redis Cluster hash slot of a key (cluster specification, "Keys distribution model"):
/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of the key's hash tag, modulo 16384.
///
/// The hash tag is the text between the first `{` and the first `}` after it, when that text is
/// not empty; otherwise the whole key is hashed. The store names every key of one entity with the
/// same tag (`…{card_fingerprint:abc}:tag`, one per plan layout), so one entity's logs share one
/// slot and the keys of a batch can be grouped by slot, then by the node that serves each slot.
public enum RedisKeySlot {
    public static let slotCount = 16384

    public static func slot(of key: String) -> Int {
        var bytes = Array(key.utf8)[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            bytes = bytes[(open + 1)..<close]
        }
        return Int(crc16(bytes) % UInt16(slotCount))
    }

    static func crc16<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
