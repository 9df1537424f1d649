"""The ``tessera`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tessera", description="A Matrix homeserver.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser(
        "check-pdus",
        help="check a folder of PDU cases (event ID, content hash, signature, redaction)",
    )
    check.add_argument("directory", type=Path, metavar="DIR")
    for name, text in (
        ("replay", "rebuild read models from the log (stop the server first)"),
        ("checksum", "print one digest per read model"),
    ):
        stores = sub.add_parser(name, help=text)
        stores.add_argument("read_models", nargs="*", metavar="READ_MODEL")
        _store_flags(stores)
    from .cli_server import add_commands

    add_commands(sub)
    return parser


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE")
    parser.add_argument("--data-dir", metavar="DIR")
    parser.add_argument("--database", metavar="URL", help="postgresql://… (scale profile)")


def _stores(args: argparse.Namespace) -> tuple[str | None, str]:
    from .config import load_config

    config = load_config(args.config, {"data_dir": args.data_dir, "database": args.database})
    return config.database, str(config.data_dir)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "check-pdus":
        from .check_pdus import check_pdus

        return check_pdus(args.directory)
    if args.command in ("replay", "checksum"):
        from .replay import run_checksum, run_replay

        run = run_replay if args.command == "replay" else run_checksum
        return run(args.read_models, *_stores(args))
    if args.command == "serve":
        from .cli_server import run_serve

        return run_serve(args)
    if args.command == "register-user":
        from .cli_server import run_register_user

        return run_register_user(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
