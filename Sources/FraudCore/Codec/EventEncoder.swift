/// Writes payment events in their JSON wire form (docs/formats.md): one object, no whitespace,
/// keys in canonical order, time as RFC 3339 UTC with milliseconds, optional fields omitted when
/// absent and metadata keys sorted, so equal events always encode to equal bytes.
public struct EventEncoder: Sendable {
    public init() {}

    /// Appends the event's JSON (without a newline) to `out`.
    public func append(_ event: PaymentEvent, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        member(.paymentID, event.paymentID, &out, first: true)
        JSONWriter.raw(",\"occurred_at\":", to: &out)
        JSONWriter.time(event.occurredAt, to: &out)
        member(.accountID, event.accountID, &out)
        member(.cardFingerprint, event.cardFingerprint, &out)
        member(.deviceID, event.deviceID, &out)
        member(.ip, event.ip, &out)
        member(.merchantID, event.merchantID, &out)
        member(.mcc, event.mcc, &out)
        JSONWriter.raw(",\"amount_minor\":", to: &out)
        JSONWriter.integer(event.amount.minorUnits, to: &out)
        JSONWriter.raw(",\"currency\":\"", to: &out)
        let packed = event.amount.currency.packed
        out.append(UInt8(truncatingIfNeeded: packed >> 16))
        out.append(UInt8(truncatingIfNeeded: packed >> 8))
        out.append(UInt8(truncatingIfNeeded: packed))
        out.append(UInt8(ascii: "\""))
        member(.cardCountry, event.cardCountry, &out)
        member(.ipCountry, event.ipCountry, &out)
        member(.channel, event.channel.rawValue, &out)
        member(.type, event.type.rawValue, &out)
        if let beneficiary = event.beneficiaryID {
            member(.beneficiaryID, beneficiary, &out)
        }
        if !event.metadata.isEmpty {
            JSONWriter.raw(",\"metadata\":{", to: &out)
            for (index, key) in event.metadata.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.string(key, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.string(event.metadata[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if let label = event.label {
            member(.label, label.rawValue, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The event's JSON as a fresh byte array (convenience; loops should reuse a buffer with `append`).
    public func encode(_ event: PaymentEvent) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(384)
        append(event, to: &out)
        return out
    }

    @inline(__always)
    private func member(_ field: EventWireField, _ value: String, _ out: inout [UInt8], first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        JSONWriter.key(field.name, to: &out)
        JSONWriter.string(value, to: &out)
    }
}
