import Foundation

/// What to train (`models/spec.json`): the model's feature expressions and, optionally, its
/// name and fitting options, which `waqiti train` flags override.
///
///     {"name": "default", "features": ["log1p(amount_usd)", "count(card_fingerprint, 1h)"],
///      "l2": 0.0001, "class_weight": "none", "validation_fraction": 0.2}
public struct TrainingSpec: Equatable, Sendable {
    public var name: String?
    public var description: String?
    public var features: [String]
    public var l2: Double?
    public var classWeight: ClassWeighting?
    public var validationFraction: Double?

    public init(name: String? = nil, description: String? = nil, features: [String], l2: Double? = nil,
                classWeight: ClassWeighting? = nil, validationFraction: Double? = nil) {
        self.name = name
        self.description = description
        self.features = features
        self.l2 = l2
        self.classWeight = classWeight
        self.validationFraction = validationFraction
    }

    public static func load(path: String) throws(ModelFileError) -> TrainingSpec {
        try decode(ModelFileDecoder.read(path), file: path)
    }

    public static func decode(_ data: Data, file: String) throws(ModelFileError) -> TrainingSpec {
        let reader = try JSONObjectReader.root(data, file: file)
        try reader.rejectUnknownKeys(allowed: ["name", "description", "features", "l2", "class_weight", "validation_fraction"])
        let items = try reader.array("features")
        guard !items.isEmpty else { throw reader.error("features", "must list at least one expression") }
        var features: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, !text.isEmpty else {
                throw ModelFileError(file: file, key: "features[\(index)]", message: "expected a non-empty expression string, got \(item.kindDescription)")
            }
            if let earlier = features.firstIndex(of: text) {
                throw ModelFileError(file: file, key: "features[\(index)]", message: "\"\(text)\" repeats features[\(earlier)]")
            }
            features.append(text)
        }
        var spec = TrainingSpec(features: features)
        if reader.fields["name"] != nil { spec.name = try reader.string("name") }
        if reader.fields["description"] != nil { spec.description = try reader.string("description") }
        if reader.fields["l2"] != nil { spec.l2 = try reader.nonNegativeFinite("l2") }
        if reader.fields["class_weight"] != nil { spec.classWeight = try reader.classWeighting("class_weight") }
        if reader.fields["validation_fraction"] != nil {
            let fraction = try reader.number("validation_fraction")
            guard fraction >= 0, fraction < 1 else { throw reader.error("validation_fraction", "expected a number in 0..<1, got \(fraction)") }
            spec.validationFraction = fraction
        }
        return spec
    }
}
