"""Unpadded base64, standard and URL-safe, as the spec's appendix uses them.

Signatures, keys and content hashes use the standard alphabet; event IDs of
room version 4 and later use the URL-safe one. Decoding accepts padded input too,
as the spec asks of receivers.
"""

from __future__ import annotations

import base64 as _b64
import binascii


def encode_base64(data: bytes) -> str:
    return _b64.b64encode(data).rstrip(b"=").decode("ascii")


def encode_base64_urlsafe(data: bytes) -> str:
    return _b64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not; raises ValueError."""
    s = text.rstrip("=")
    if len(s) % 4 == 1:
        raise ValueError("invalid base64 length")
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    try:
        return _b64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except binascii.Error as e:
        raise ValueError(f"invalid base64: {e}") from None
