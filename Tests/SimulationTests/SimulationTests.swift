// Tests for Simulation.
