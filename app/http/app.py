"""The client-facing aiohttp application: middlewares plus every API area's routes."""

from __future__ import annotations

from aiohttp import web

from tessera.app.client import ROUTE_TABLES
from tessera.app.read_barrier import read_barrier_middleware
from tessera.app.services import Services

from .context import SERVICES
from .json import MAX_BODY
from .middleware import cors_middleware, error_middleware


def make_app(services: Services) -> web.Application:
    """An application serving the Client-Server API with ``services``.

    Error bodies are outermost-but-one so that CORS headers land on errors too;
    the read barrier (invariant 3) is inside them, so its 503 is a Matrix error.
    """
    app = web.Application(
        middlewares=[cors_middleware, error_middleware, read_barrier_middleware],
        client_max_size=services.config.max_request_body,
    )
    app[SERVICES] = services
    app[MAX_BODY] = services.config.max_request_body
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
