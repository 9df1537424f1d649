"""State resolution."""
