"""The ``createRoom`` request as a command: parsed and type-checked (M_BAD_JSON)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tessera.kernel.identifiers import is_valid_user_id

from .room_deps import RoomError, bad_json

PRESET_NAMES = ("private_chat", "trusted_private_chat", "public_chat")


@dataclasses.dataclass(frozen=True, slots=True)
class CreateRoom:
    creator: str
    preset: str | None = None
    visibility: str = "private"
    room_version: str | None = None
    creation_content: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: ``(type, state_key, content)`` in the request's order.
    initial_state: tuple[tuple[str, str, Mapping[str, Any]], ...] = ()
    name: str | None = None
    topic: str | None = None
    invite: tuple[str, ...] = ()
    is_direct: bool = False
    power_level_content_override: Mapping[str, Any] | None = None
    room_alias_name: str | None = None

    @classmethod
    def from_body(cls, creator: str, body: Mapping[str, Any]) -> CreateRoom:
        """The command a ``POST /createRoom`` body asks for."""
        visibility = _opt(body, "visibility", str) or "private"
        if visibility not in ("public", "private"):
            raise bad_json("'visibility' must be 'public' or 'private'")
        preset = _opt(body, "preset", str)
        if preset is not None and preset not in PRESET_NAMES:
            raise bad_json(f"Unknown preset {preset!r}")
        invite = _opt(body, "invite", list) or []
        if not all(isinstance(u, str) and is_valid_user_id(u) for u in invite):
            raise RoomError(400, "M_INVALID_PARAM", "'invite' must list valid user IDs")
        if _opt(body, "invite_3pid", list):
            raise RoomError(400, "M_UNRECOGNIZED", "Third-party invites are not supported")
        initial: list[tuple[str, str, Mapping[str, Any]]] = []
        for item in _opt(body, "initial_state", list) or []:
            if not isinstance(item, dict):
                raise bad_json("'initial_state' entries must be objects")
            event_type = _opt(item, "type", str)
            content = _opt(item, "content", dict)
            if not event_type or content is None:
                raise bad_json("'initial_state' entries need 'type' and 'content'")
            if event_type == "m.room.create":
                raise bad_json("'initial_state' cannot set m.room.create")
            initial.append((event_type, _opt(item, "state_key", str) or "", content))
        is_direct = _opt(body, "is_direct", bool)
        return cls(
            creator=creator,
            preset=preset,
            visibility=visibility,
            room_version=_opt(body, "room_version", str),
            creation_content=_opt(body, "creation_content", dict) or {},
            initial_state=tuple(initial),
            name=_opt(body, "name", str),
            topic=_opt(body, "topic", str),
            invite=tuple(dict.fromkeys(u for u in invite if u != creator)),
            is_direct=bool(is_direct),
            power_level_content_override=_opt(body, "power_level_content_override", dict),
            room_alias_name=_opt(body, "room_alias_name", str),
        )


def _opt(body: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    """``body[key]`` if present and not null, checked to be a ``kind``."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_json(f"'{key}' must be of type {kind.__name__}")
    return value
