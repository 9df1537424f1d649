"""``tessera serve`` and ``tessera register-user``: the server's own commands.

Kept apart from ``cli.py`` so that the command line's other commands don't load
the server (aiohttp, the stores, the bus) to parse their flags.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

SERVE_FLAGS = (
    ("--server-name", "server_name", "NAME", "the server's name (the part after ':' in IDs)"),
    ("--listen", "listen", "HOST:PORT", "where the Client-Server API listens"),
    ("--data-dir", "data_dir", "DIR", "signing key and, embedded, the SQLite files"),
    ("--database", "database", "URL", "postgresql://… (scale profile)"),
    ("--nats", "nats", "URL", "nats://… (scale profile)"),
    (
        "--roles",
        "roles",
        "ROLES",
        "comma-separated api,sync,projections,relay,integrations (default: all)",
    ),
)


def add_commands(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the homeserver")
    _config_flags(serve)
    register = sub.add_parser("register-user", help="create a local user")
    register.add_argument("user", metavar="USER", help="a localpart or a full @user:server ID")
    register.add_argument("--password", help="(asked for when not given)")
    register.add_argument("--admin", action="store_true", help="make the user a server admin")
    _config_flags(register)


def _config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="a YAML configuration file")
    for flag, dest, metavar, text in SERVE_FLAGS:
        parser.add_argument(flag, dest=dest, metavar=metavar, help=text)


def _config(args: argparse.Namespace) -> Any:
    from .config import ConfigError, load_config  # noqa: PLC0415 (lazy: keep the CLI light)

    overrides = {dest: getattr(args, dest) for _, dest, _, _ in SERVE_FLAGS}
    try:
        return load_config(args.config, overrides)
    except (ConfigError, OSError) as e:
        print(f"tessera: configuration: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def run_serve(args: argparse.Namespace) -> int:
    from .server import serve  # noqa: PLC0415 (lazy: keep the CLI light)

    serve(_config(args))
    return 0


def run_register_user(args: argparse.Namespace) -> int:
    from .register_user import register_user  # noqa: PLC0415 (lazy: keep the CLI light)

    config = _config(args)
    password = args.password
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Confirm password: "):
            print("tessera: the passwords differ", file=sys.stderr)
            return 1
    return asyncio.run(register_user(config, args.user, password, admin=args.admin))
