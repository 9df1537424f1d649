"""Thumbnails over HTTP on both profiles: JPEG (EXIF-rotated), PNG, animated GIF
and WebP come back at the requested dimensions; a crafted huge image is refused
without decoding it."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.harness import Client, Server
from tests.e2e.media import images
from tests.e2e.media.helpers import V1, body_json, fetch, split_mxc, upload

MIB = 1024 * 1024


async def _upload(http: aiohttp.ClientSession, server: Server, token: str, data: bytes,
                  content_type: str) -> str:  # fmt: skip
    status, body = await upload(http, server, token, data, content_type=content_type)
    assert status == 200, body
    return "/".join(split_mxc(body["content_uri"]))


async def _thumb(
    http: aiohttp.ClientSession, server: Server, token: str, mxc: str, query: str
) -> tuple[int, str, bytes]:
    status, headers, raw = await fetch(http, server, f"{V1}/thumbnail/{mxc}?{query}", token)
    return status, headers.get("Content-Type", ""), raw


async def test_thumbnails_have_the_requested_dimensions(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await media_client.register()
    token = alice.token
    jpeg = await _upload(http, media_server, token, images.jpeg_rotated(), "image/jpeg")
    png = await _upload(http, media_server, token, images.png(), "image/png")
    gif = await _upload(http, media_server, token, images.animated("GIF", 200, 150, 3), "image/gif")
    webp = await _upload(
        http, media_server, token, images.animated("WEBP", 300, 200, 2), "image/webp"
    )

    # JPEG stored 1200x900 with EXIF orientation 6: it is 900x1200 upright.
    status, kind, raw = await _thumb(
        http, media_server, token, jpeg, "width=320&height=240&method=scale"
    )
    assert (status, kind) == (200, "image/jpeg")
    thumb = images.open_image(raw)
    assert thumb.size == (180, 240)
    red_right = thumb.convert("RGB").getpixel((170, 120))
    blue_left = thumb.convert("RGB").getpixel((10, 120))
    assert red_right[0] > 200 and red_right[2] < 60, red_right
    assert blue_left[2] > 200 and blue_left[0] < 60, blue_left

    for mxc in (jpeg, png, gif, webp):
        for width, height in ((32, 32), (96, 96), (50, 40)):
            status, _, raw = await _thumb(
                http, media_server, token, mxc, f"width={width}&height={height}&method=crop"
            )
            assert status == 200, (mxc, body_json(raw))
            assert images.open_image(raw).size == (width, height), (mxc, width, height)
    status, kind, raw = await _thumb(http, media_server, token, png, "width=640&height=480")
    assert (status, kind, images.open_image(raw).size) == (200, "image/png", (640, 480))

    # Animated when asked for (WebP, as the spec prefers), static otherwise.
    for mxc, frames in ((gif, 3), (webp, 2)):
        status, kind, raw = await _thumb(
            http, media_server, token, mxc, "width=100&height=75&method=scale&animated=true"
        )
        assert (status, kind) == (200, "image/webp")
        thumb = images.open_image(raw)
        assert thumb.size[1] == 75 or thumb.size[0] == 100
        assert getattr(thumb, "n_frames", 1) == frames
        status, kind, raw = await _thumb(
            http, media_server, token, mxc, "width=100&height=75&method=scale&animated=false"
        )
        assert status == 200
        assert not getattr(images.open_image(raw), "is_animated", False)

    status, headers, raw = await fetch(
        http, media_server, f"{V1}/thumbnail/{png}?width=32&height=32&method=crop", token
    )
    assert headers["Content-Disposition"] == 'inline; filename="thumbnail.png"'
    again = await fetch(
        http, media_server, f"{V1}/thumbnail/{png}?width=32&height=32&method=crop", token
    )
    assert again[2] == raw  # stored once, served from storage since
    specs = {row[0] for row in media_server.services.readdb.iter_rows(
        "SELECT spec FROM media_thumbnails WHERE media_id = ?", (png.split("/")[1],))}  # fmt: skip
    assert {"32x32-crop", "50x40-crop"} <= specs

    status, _, raw = await _thumb(http, media_server, token, png, "width=0&height=10")
    assert status == 400
    text = await _upload(http, media_server, token, b"plain words", "text/plain")
    status, _, raw = await _thumb(http, media_server, token, text, "width=32&height=32")
    assert (status, body_json(raw)["errcode"]) == (400, "M_UNKNOWN")


async def test_a_crafted_huge_image_is_refused_without_decoding(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await media_client.register()
    # Over our limit (and complete: decoding it would fill 103 MiB); over Pillow's too.
    for width, height, complete in ((6000, 6000, True), (60000, 60000, False)):
        data = images.png_bomb(width, height, complete=complete)
        assert len(data) < MIB
        bomb = await _upload(http, media_server, alice.token, data, "image/png")
        before = _reset_peak_rss()
        status, _, raw = await _thumb(
            http, media_server, alice.token, bomb, "width=32&height=32&method=crop"
        )
        growth = _peak_rss() - before
        assert (status, body_json(raw)["errcode"]) == (413, "M_TOO_LARGE")
        # Pillow's bitmaps are not Python objects: measure the process's peak RSS. A
        # decoded 6000x6000 RGB bitmap alone would be 103 MiB.
        assert growth < 32 * MIB, f"peak RSS grew by {growth / MIB:.0f} MiB"


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> int:
    """Reset the process's peak RSS (Linux: ``clear_refs`` 5); the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def _peak_rss() -> int:
    return _status_kib("VmHWM")
