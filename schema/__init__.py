"""Tessera schema side."""
