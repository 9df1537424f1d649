"""The read models the server maintains: one entry per projection.

The server runs a worker for each, ``tessera replay`` rebuilds them and
``tessera checksum`` digests them. To add a read model, import its projection
here and append an instance to the list; its ``name`` (a lowercase identifier)
is its tracking key, its durable consumer's name and its name on the command line.
"""

from __future__ import annotations

from tessera.projections import (
    account_data,
    accounts,
    aliases,
    directory,
    pushers,
    receipts,
    room_events,
    room_state,
)
from tessera.projections.push_actions import PushActionsProjection
from tessera.projections.runner import Projection


def all_projections() -> list[Projection]:
    projections: list[Projection] = [
        room_events,
        room_state,
        aliases,
        directory,
        receipts,
        account_data,
        accounts,
        PushActionsProjection(),
        pushers,
        # rooms.RoomsProjection(),
    ]
    return projections
