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
    from .cli_server import add_commands

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "check-pdus":
        from .check_pdus import check_pdus

        return check_pdus(args.directory)
    if args.command == "serve":
        from .cli_server import run_serve

        return run_serve(args)
    if args.command == "register-user":
        from .cli_server import run_register_user

        return run_register_user(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
