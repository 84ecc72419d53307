import Simulation

/// Fixed-seed test data from the simulator's generator, so every random case is the same on every run.
typealias TestRandom = SimulationRandom

extension SimulationRandom {
    mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &self) } }
    mutating func doubles(_ count: Int) -> [Double] { (0..<count).map { _ in Double.random(in: -1...1, using: &self) } }
}
