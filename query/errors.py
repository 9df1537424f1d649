"""Refusals of the read side; the HTTP layer turns them into the spec's errors."""

from __future__ import annotations


class Forbidden(Exception):
    """403 M_FORBIDDEN: the user may not read this room (never joined, not world-readable)."""


class NotFound(Exception):
    """404 M_NOT_FOUND: no such event or state, or the user may not see it."""
