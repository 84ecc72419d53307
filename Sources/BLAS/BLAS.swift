// The BLAS module; see ARCHITECTURE.md for its boundary.
