"""Tessera federation side."""
