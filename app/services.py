"""The services one server process runs with: built once by the composition root
(``tessera.app.server``) and reached by handlers through ``request.app[SERVICES]``.

Add a field here when a new capability needs a long-lived object; never reach
for module globals.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tessera.command.account_handlers import AccountRepository
from tessera.command.accounts_seen import DeviceSeenTracker
from tessera.command.group_commit import GroupCommitter
from tessera.command.keys_e2ee import E2eeCommands
from tessera.command.passwords import Passwords
from tessera.command.pushers import PusherCommands
from tessera.command.room_deps import RoomDeps
from tessera.command.rooms import RoomRepository
from tessera.command.userdata import UserDataCommands
from tessera.kernel.signing import SigningKey
from tessera.query.sync import SyncService, SyncStore
from tessera.query.typing import TypingTracker
from tessera.schema.bus import Bus
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase

from .applied import AppliedPositions
from .authn import TokenMap
from .config import Config
from .http.context import Authenticator
from .http.ratelimit import RateLimiter
from .read_barrier import ReadBarrier

if TYPE_CHECKING:  # the media package loads Pillow: only the server wires it in
    from .media.previews import PreviewService
    from .media.service import MediaService


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
    #: The bus (in-process or NATS JetStream): records to workers, signals to all.
    bus: Bus
    #: How far the projections have applied the log: ``await applied.wait_for(pos)``
    #: at the read barrier or before answering a write (invariant 3); ``current()``
    #: for sync tokens.
    applied: AppliedPositions
    #: Users' account streams (``tessera.command.account_handlers``).
    accounts: AccountRepository
    #: Argon2id hashing off the event loop, concurrency-capped.
    passwords: Passwords
    #: Token buckets: ``ratelimiter.check("message", user_id)`` (or
    #: ``tessera.app.http.ratelimit.check_request`` for per-IP + per-user).
    ratelimiter: RateLimiter
    #: The in-memory access-token map behind ``authenticator``; ``await
    #: tokens.refresh()`` after a token change so this process sees it at once.
    tokens: TokenMap
    clock: Callable[[], int] = now_ms
    #: Called after a user's display name or avatar changed, with the services
    #: and the user ID: re-sends the user's member event in every joined room
    #: (filled by the room commands' wiring; None: profiles stay global only).
    on_profile_changed: Callable[[Services, str], Awaitable[None]] | None = None
    #: Coroutines run at shutdown, last added first (background tasks, stores…).
    closers: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    #: Users' own data: account data, tags, filters, push rules, receipts.
    userdata: UserDataCommands = dataclasses.field(init=False)
    #: Who is typing where (in memory; ``typing.attach(bus)`` shares it).
    typing: TypingTracker = dataclasses.field(init=False)
    #: ``/sync`` and its long-polls.
    sync: SyncService = dataclasses.field(init=False)
    #: Users' pushers (``POST /pushers/set``, the push sender's removals).
    pushers: PusherCommands = dataclasses.field(init=False)
    #: End-to-end encryption: keys, to-device messages, key backup.
    e2ee: E2eeCommands = dataclasses.field(init=False)
    #: Devices' last request time and IP, noted by ``require_auth``, flushed periodically.
    seen: DeviceSeenTracker = dataclasses.field(init=False)
    #: Requests wait here for the log's head to be applied (``tessera.app.read_barrier``).
    barrier: ReadBarrier = dataclasses.field(init=False)
    #: What the room commands run with (``tessera.app.room_wiring.wire_room_commands``).
    room_deps: RoomDeps | None = None
    #: The media repository and URL previews (``tessera.app.media.wiring.open_media``).
    media: MediaService | None = None
    previews: PreviewService | None = None

    def __post_init__(self) -> None:
        self.userdata = UserDataCommands(self.store, self.committer)
        self.e2ee = E2eeCommands(self.store, self.committer)
        self.accounts.on_devices_deleted.append(self.e2ee.forget_devices)
        self.pushers = PusherCommands(self.store, self.committer)
        self.seen = DeviceSeenTracker(self.accounts, self.config.device_seen_flush_ms)
        self.typing = TypingTracker()
        self.barrier = ReadBarrier(
            self.store,
            self.applied,
            self.tokens,
            self.bus,
            timeout=self.config.read_barrier_timeout_ms / 1000,
            max_unsettled=self.config.max_unsettled_positions,
        )
        self.sync = SyncService(SyncStore(self.readdb), self.applied, self.typing, clock=self.clock)

    @property
    def server_name(self) -> str:
        return self.config.server_name
