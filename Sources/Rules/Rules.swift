// The Rules module; see ARCHITECTURE.md for its boundary.
