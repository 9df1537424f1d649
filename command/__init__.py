"""Tessera command side."""
