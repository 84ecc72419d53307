// The Redis module; see ARCHITECTURE.md for its boundary.
