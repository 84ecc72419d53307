// The Kafka module; see ARCHITECTURE.md for its boundary.
