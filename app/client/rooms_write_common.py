"""What the room-writing handlers share: their commands' dependencies, the
translation of a command's refusal into a Matrix error, and the wait for the
read models before answering (DESIGN invariant 3)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.errors import MatrixError, bad_json
from tessera.app.services import Services
from tessera.command.room_deps import RoomDeps, RoomError

PREFIX = "/_matrix/client/v3"


def room_deps(request: web.Request) -> RoomDeps:
    deps = services(request).room_deps
    if deps is None:  # pragma: no cover - build_services always wires them
        raise MatrixError(500, "M_UNKNOWN", "The room commands are not configured")
    return deps


@contextmanager
def room_errors() -> Iterator[None]:
    """A command's RoomError as the Matrix error it names."""
    try:
        yield
    except RoomError as e:
        raise MatrixError(e.status, e.errcode, e.error) from None


async def settle(svc: Services, positions: Sequence[int]) -> None:
    """Answer only once every read model reflects the write (read-your-writes)."""
    if positions:
        await svc.applied.wait_for(max(positions))


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_json(f"'{key}' must be a string")
    return value


def required_str(body: dict[str, Any], key: str) -> str:
    value = optional_str(body, key)
    if value is None:
        raise MatrixError(400, "M_MISSING_PARAM", f"'{key}' is required")
    return value
