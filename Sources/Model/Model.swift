// The Model module; see ARCHITECTURE.md for its boundary.
