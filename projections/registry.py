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
    device_keys,
    directory,
    media,
    one_time_keys,
    pushers,
    receipts,
    room_events,
    room_keys,
    room_state,
    threads,
    to_device,
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
        media,
        device_keys,
        one_time_keys,
        to_device,
        room_keys,
        PushActionsProjection(),
        pushers,
        threads,
        # rooms.RoomsProjection(),
    ]
    return projections
