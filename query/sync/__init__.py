"""``GET /sync``: initial and incremental sync over the read models.

Modules: ``store`` (the SQL), ``context`` (the window and the user's
memberships), ``rooms`` (join/leave/invite/knock sections), ``summary``,
``ephemeral`` (receipts, typing), ``format`` (event shapes), ``response`` (one
response), ``service`` (tokens and long-polls). Filters: ``SyncFilter`` of
``tessera.query.filters``.
"""

from __future__ import annotations

from tessera.query.filters import FilterError, SyncFilter

from .context import SyncRequest
from .service import SyncService
from .store import SyncStore

__all__ = ["FilterError", "SyncFilter", "SyncRequest", "SyncService", "SyncStore"]
