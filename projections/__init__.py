"""Tessera projections side."""
