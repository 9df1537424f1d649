"""The composition root: configuration in, a running server out.

``build_services(config)`` opens the stores and the bus, creates the read
models' tables, and starts what the configured roles need in this process:

- every process: the group committer (poking relays through the bus), the
  applied positions and the token map (both kept current by bus signals);
- ``relay``: the relay publishing the log to the bus;
- ``projections``: one worker for every read model (``projections.registry``),
  a projection group with one durable consumer;
- ``api`` / ``sync``: the HTTP listener, started by ``serve``/``start_http``;
- ``integrations`` (scale profile only): room events to public NATS subjects
  (``tessera.app.integrations``, docs/integrations.md).

With no ``roles`` configured a process runs all of them (the embedded profile,
``make run``). ``close_services`` stops everything in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

import uvloop
from aiohttp import web

from tessera.app.applied import AppliedPositions
from tessera.app.authn import TokenMap
from tessera.app.bus.inprocess import InProcessBus
from tessera.app.bus.nats import NatsBus
from tessera.app.config import Config
from tessera.app.http.app import make_app
from tessera.app.http.ratelimit import RateLimiter
from tessera.app.integrations import start_integrations
from tessera.app.keys import load_or_create_signing_key
from tessera.app.push.wiring import start_push_sender
from tessera.app.room_wiring import wire_room_commands
from tessera.app.services import Services
from tessera.app.stores import open_stores
from tessera.command.account_handlers import AccountRepository
from tessera.command.group_commit import GroupCommitter
from tessera.command.passwords import Passwords
from tessera.command.rooms import RoomRepository
from tessera.projections.group import ProjectionGroup
from tessera.projections.push_actions import PushActionsProjection
from tessera.projections.registry import all_projections
from tessera.projections.relay import Relay, commit_signal
from tessera.projections.runner import Projection
from tessera.projections.worker import ProjectionWorker
from tessera.schema.bus import Bus

_log = logging.getLogger(__name__)

ROLES = ("api", "sync", "projections", "relay", "integrations")
HTTP_ROLES = frozenset({"api", "sync"})


def roles_of(config: Config) -> frozenset[str]:
    if config.roles:
        return frozenset(config.roles)
    # Integrations publish to NATS: the embedded profile has none.
    return frozenset(r for r in ROLES if r != "integrations" or config.nats is not None)


def projections(config: Config | None = None) -> list[Projection]:
    """The read models this server maintains (``projections.registry``);
    ``push_evaluation: false`` keeps ``push_actions`` folding state but evaluating nothing."""
    chosen = all_projections()
    if config is not None and not config.push_evaluation:
        chosen = [
            PushActionsProjection(evaluate=False) if p.name == PushActionsProjection.name else p
            for p in chosen
        ]
    return chosen


async def open_bus(config: Config) -> Bus:
    if config.nats is None:
        return InProcessBus()
    return await NatsBus.connect(
        config.nats, root=config.nats_subject_root, stream=config.nats_stream
    )


def _task(services: Services, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
    task: asyncio.Task[None] = asyncio.ensure_future(coro)
    task.set_name(name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    services.closers.append(stop)
    return task


async def build_services(config: Config, *, passwords: Passwords | None = None) -> Services:
    """Everything a process of ``config`` runs with, its background work started.

    ``passwords`` replaces the Argon2 parameters (tests use cheap ones)."""
    roles = roles_of(config)
    signing_key = await asyncio.to_thread(load_or_create_signing_key, config.data_dir)
    store, readdb = await asyncio.to_thread(open_stores, config.database, config.data_dir)
    closers: list[Callable[[], Awaitable[None]]] = [
        lambda: asyncio.to_thread(store.close),
        lambda: asyncio.to_thread(readdb.close),
    ]
    try:
        bus = await open_bus(config)
        closers.append(bus.close)
        group = ProjectionGroup(readdb, projections(config))
        # Tables exist before any reader looks, whatever the roles.
        await asyncio.to_thread(group.setup)
        applied = await AppliedPositions.start(bus, readdb, group.names)
        closers.append(applied.close)
        tokens = TokenMap(readdb)
        await tokens.start(bus)
        closers.append(tokens.close)
    except BaseException:
        for close in reversed(closers):
            await close()
        raise
    committer = GroupCommitter(store, on_commit=commit_signal(bus))
    services = Services(
        config=config,
        signing_key=signing_key,
        store=store,
        committer=committer,
        rooms=RoomRepository(store, committer),
        readdb=readdb,
        authenticator=tokens,
        bus=bus,
        applied=applied,
        accounts=AccountRepository(store, committer),
        passwords=passwords or Passwords(),
        ratelimiter=RateLimiter.from_config(config),
        tokens=tokens,
        closers=closers,
    )
    wire_room_commands(services)
    await _open_media(services)
    await services.typing.attach(bus)  # typing crosses processes as bus signals
    closers.append(services.typing.close)
    # Workers first, each subscribed and caught up with the log; then the relay,
    # which (embedded) starts publishing at the log's head. Nothing commits in
    # between (no listener yet), so no record falls between the two.
    if "projections" in roles:
        # One worker for every read model: one transaction per batch for all.
        worker = ProjectionWorker(group, bus, store)
        _task(services, worker.run(), f"projections:{worker.name}")
        await worker.caught_up.wait()
    if "relay" in roles:
        relay = Relay(store, bus)
        committer.observers.append(relay.offer)  # this process's commits, without a log read
        _task(services, relay.run(), "relay")
        await relay.started.wait()
    if "projections" in roles:  # one push sender per deployment (docs/notifications.md)
        start_push_sender(services)
    if "integrations" in roles:
        await start_integrations(services)
    _start_device_seen(services, "projections" in roles)
    return services


def _start_device_seen(services: Services, projects: bool) -> None:
    """Flush devices' last-seen periodically; at shutdown, write what is left
    first of all (closers run last added first), and let this process's
    projections apply it before they stop, so the read models match the log."""
    services.seen.start()

    async def close() -> None:
        positions = await services.seen.close()
        if positions and projects:
            with contextlib.suppress(TimeoutError):
                await services.applied.wait_for(max(positions), timeout=5.0)

    services.closers.append(close)


async def _open_media(services: Services) -> None:
    from tessera.app.media.wiring import open_media  # noqa: PLC0415 (Pillow loads with it)

    media, previews = await open_media(
        services.config,
        store=services.store,
        committer=services.committer,
        readdb=services.readdb,
        applied=services.applied,
        clock=services.clock,
    )
    services.media, services.previews = media, previews
    services.closers.append(media.close)
    services.closers.append(previews.close)


async def close_services(services: Services) -> None:
    while services.closers:
        close = services.closers.pop()
        try:
            await close()
        except Exception:
            _log.exception("error while shutting down")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


async def start_http(services: Services, listen: str | None = None) -> tuple[web.AppRunner, int]:
    """Serve the Client-Server API on ``listen`` (default: the config's; port 0
    picks a free port). Returns the runner (``await runner.cleanup()``) and the port."""
    host, port = split_listen(listen or services.config.listen)
    runner = web.AppRunner(make_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)


async def run_server(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    services = await build_services(config)
    runner: web.AppRunner | None = None
    try:
        roles = roles_of(config)
        if roles & HTTP_ROLES:
            runner, port = await start_http(services)
            host, _ = split_listen(config.listen)
            _log.info("%s listening on http://%s:%d", config.server_name, host, port)
        _log.info("roles: %s; profile: %s", ", ".join(sorted(roles)), config.profile)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await close_services(services)


def serve(config: Config) -> None:
    """``tessera serve``: the server in this process, on uvloop where available."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvloop.run(run_server(config))
