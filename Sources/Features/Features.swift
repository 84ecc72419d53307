// The Features module; see ARCHITECTURE.md for its boundary.
