"""``tessera register-user``: create a local account from the command line.

Runs the same command as ``POST /register`` against the configured stores, in
a short-lived process of its own (with its own projection workers, so the new
account is in the read models before the command returns; a running server's
token map and login see it as soon as its own workers catch up).
"""

from __future__ import annotations

import dataclasses
import sys

from tessera.command.account_handlers import register
from tessera.command.accounts import AccountError

from .config import Config
from .server import build_services, close_services
from .usernames import UsernameError, local_user_id


async def register_user(config: Config, user: str, password: str, *, admin: bool = False) -> int:
    try:
        user_id = local_user_id(user, config.server_name)
    except UsernameError as e:
        print(f"tessera: {e.error}", file=sys.stderr)
        return 1
    services = await build_services(dataclasses.replace(config, roles=("projections", "relay")))
    try:
        try:
            positions, _ = await register(
                services.accounts,
                services.passwords,
                user_id=user_id,
                password=password,
                login=None,
                now=services.clock(),
                is_admin=admin,
            )
        except AccountError as e:
            print(f"tessera: {e.error} ({user_id})", file=sys.stderr)
            return 1
        await services.applied.wait_for(max(positions))
    finally:
        await close_services(services)
    print(f"registered {user_id}{' (admin)' if admin else ''}")
    return 0
