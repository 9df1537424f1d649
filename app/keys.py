"""The server's signing key: generated into the data directory on first start.

The file ``signing.key`` holds one line per key, ``ed25519 <version> <seed>``
with the 32-byte seed in unpadded standard base64 (the format Synapse uses, so
an operator can move a key between servers). The first key is the one the
server signs with. The file is created readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from tessera.kernel.b64 import decode_base64, encode_base64
from tessera.kernel.signing import ED25519, SigningKey

KEY_FILE = "signing.key"


class KeyFileError(ValueError):
    pass


def format_key(key: SigningKey) -> str:
    _, _, version = key.key_id.partition(":")
    return f"{ED25519} {version} {encode_base64(key.seed)}\n"


def parse_keys(text: str) -> list[SigningKey]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] != ED25519:
            raise KeyFileError(f"line {number}: expected 'ed25519 <version> <base64 seed>'")
        try:
            seed = decode_base64(parts[2])
            keys.append(SigningKey.from_seed(f"{ED25519}:{parts[1]}", seed))
        except ValueError as e:
            raise KeyFileError(f"line {number}: {e}") from None
    return keys


def load_or_create_signing_key(data_dir: Path) -> SigningKey:
    """The key in ``data_dir/signing.key``, generating the file if it doesn't exist."""
    path = data_dir / KEY_FILE
    if path.exists():
        keys = parse_keys(path.read_text(encoding="ascii"))
        if not keys:
            raise KeyFileError(f"{path}: no key in the file")
        return keys[0]
    data_dir.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_signing_key(data_dir)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(format_key(key))
    return key
