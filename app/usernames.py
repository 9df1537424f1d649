"""Which user IDs local users may have (appendices: "User Identifiers").

New local accounts use the spec's strict grammar: a localpart of ``a-z``,
``0-9`` and ``._=-/+``, the whole ID at most 255 bytes. Names are lowercased
first (as clients expect of a case-insensitive sign-up form). Two further
reservations, as other homeservers make them: a leading ``_`` (namespaces of
bridges) and all-digit names (generated guest IDs).
"""

from __future__ import annotations

import re

from tessera.kernel.identifiers import MAX_ID_BYTES

_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")


class UsernameError(ValueError):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def local_user_id(name: str, server_name: str) -> str:
    """The user ID for ``name`` (a localpart, or a full ID of this server);
    UsernameError when it may not be registered."""
    localpart = name
    if name.startswith("@"):
        localpart, sep, server = name[1:].partition(":")
        if not sep or server != server_name:
            raise UsernameError(f"User IDs of this server end in :{server_name}")
    localpart = localpart.lower()
    if not localpart:
        raise UsernameError("User ID cannot be empty")
    if not _LOCALPART.match(localpart):
        raise UsernameError("User ID can only contain characters a-z, 0-9, or '=_-./+'")
    if localpart.startswith("_"):
        raise UsernameError("User ID may not begin with _")
    if localpart.isdigit():
        raise UsernameError("Numeric user IDs are reserved")
    user_id = f"@{localpart}:{server_name}"
    if len(user_id.encode()) > MAX_ID_BYTES:
        raise UsernameError(f"User ID may not be longer than {MAX_ID_BYTES} bytes")
    return user_id


def login_user_id(name: str, server_name: str) -> str | None:
    """The local user ID a login names (a localpart or ``@user:server``; case is
    folded as at registration); None for a remote or malformed ID."""
    if name.startswith("@"):
        localpart, sep, server = name[1:].partition(":")
        if not sep or server != server_name or not localpart:
            return None
        return f"@{localpart.lower()}:{server_name}"
    if not name or ":" in name:
        return None
    return f"@{name.lower()}:{server_name}"
