"""The services one server process runs with: built once by the composition root
(``tessera.app.server``) and reached by handlers through ``request.app[SERVICES]``.

Add a field here when a new capability needs a long-lived object; never reach
for module globals.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from tessera.command.group_commit import GroupCommitter
from tessera.command.rooms import RoomRepository
from tessera.kernel.signing import SigningKey
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase

from .config import Config
from .http.context import Authenticator


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclasses.dataclass(slots=True)
class Services:
    config: Config
    signing_key: SigningKey
    store: EventStore
    committer: GroupCommitter
    rooms: RoomRepository
    readdb: ReadModelDatabase
    authenticator: Authenticator
    clock: Callable[[], int] = now_ms

    @property
    def server_name(self) -> str:
        return self.config.server_name
