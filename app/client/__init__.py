"""The Client-Server API: one module per API area, each route's docstring starting
with its HTTP route. Each module exposes ``routes: web.RouteTableDef``; add it to
``ROUTE_TABLES`` below.

Handlers stay thin: ``json_body``/``require_auth`` in, one command or query call,
``json_response`` out. Validation that is protocol (not HTTP) belongs in
``command/``, ``query/`` or the kernel.
"""

from __future__ import annotations

from aiohttp import web

from . import (
    account,
    account_data,
    auth,
    devices,
    discovery,
    hierarchy,
    keys,
    keys_signing,
    media,
    media_upload,
    notifications,
    profile,
    pushers,
    pushrules,
    receipts,
    register,
    relations,
    room_keys,
    rooms_directory,
    rooms_read,
    rooms_send,
    rooms_write,
    sync,
    threads,
    to_device,
    typing,
    unsupported,
)

ROUTE_TABLES: list[web.RouteTableDef] = [
    discovery.routes,
    register.routes,
    auth.routes,
    account.routes,
    devices.routes,
    profile.routes,
    rooms_read.routes,
    rooms_write.routes,
    rooms_send.routes,
    rooms_directory.routes,
    relations.routes,
    threads.routes,
    hierarchy.routes,
    sync.routes,
    keys.routes,
    keys_signing.routes,
    to_device.routes,
    room_keys.routes,
    receipts.routes,
    typing.routes,
    account_data.routes,
    pushrules.routes,
    pushers.routes,
    notifications.routes,
    media.routes,
    media_upload.routes,
    unsupported.routes,
]
