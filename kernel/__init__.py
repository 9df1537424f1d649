"""The Matrix protocol kernel: pure functions and value types, no I/O."""
