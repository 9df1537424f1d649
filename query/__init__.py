"""Tessera query side."""
