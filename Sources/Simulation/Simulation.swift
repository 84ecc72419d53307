// The Simulation module; see ARCHITECTURE.md for its boundary.
