"""Event authorization rules."""
