"""URL previews: a page on loopback is refused by default (no SSRF), and previewed
once the operator whitelists loopback in the configuration file; redirects are
checked hop by hop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from tests.e2e.harness import Client, Server
from tests.e2e.media import images
from tests.e2e.media.helpers import V1, fetch, split_mxc
from tests.openapi import assert_matches_spec

PAGE = """<!doctype html><html><head>
<title>Plain title</title>
<meta property="og:title" content="A  page &amp; its title">
<meta property="og:description" content="What the page is about">
<meta property="og:image" content="/picture.png">
</head><body><p>hello</p></body></html>"""
BARE = "<html><head><title>Only a title</title><meta name='description' content='Desc'></head>"


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """A web site on 127.0.0.1: ``/page`` (OpenGraph), ``/bare`` (title only),
    ``/picture.png``, ``/hop`` (redirects to /page), ``/away`` (redirects to 127.0.0.2)."""
    picture = images.png(120, 80)
    port_box: list[int] = []

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def bare(_: web.Request) -> web.Response:
        return web.Response(text=BARE, content_type="text/html")

    async def png(_: web.Request) -> web.Response:
        return web.Response(body=picture, content_type="image/png")

    async def hop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/page")

    async def away(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{port_box[0]}/page")

    app = web.Application()
    app.add_routes([web.get("/page", page), web.get("/bare", bare), web.get("/picture.png", png),
                    web.get("/hop", hop), web.get("/away", away)])  # fmt: skip
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_box.append(runner.addresses[0][1])
    try:
        yield f"127.0.0.1:{port_box[0]}"
    finally:
        # Bounded: a connection a stopped server process left half-open must not
        # hold the test run (seen once in a full run under load).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.cleanup(), 10)


async def _preview(client: Client, token: str, url: str) -> tuple[int, Any]:
    return await client.get(f"{V1}/preview_url", token=token, params={"url": url})


async def test_loopback_is_refused_by_default(
    start_server: Any, media_overrides: dict[str, Any], http: aiohttp.ClientSession, site: str
) -> None:
    server = await start_server(**media_overrides)  # no ip_range_whitelist
    media_client = Client(http, server.base_url)
    alice = await media_client.register()
    for url in (f"http://{site}/page", f"http://localhost:{site.split(':')[1]}/page",
                "http://[::1]:9/", "http://169.254.169.254/latest/meta-data/"):  # fmt: skip
        status, body = await _preview(media_client, alice.token, url)
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), url
    status, body = await _preview(media_client, alice.token, "file:///etc/passwd")
    assert status == 400
    status, body = await media_client.get(f"{V1}/preview_url?url=http://{site}/page")
    assert status == 401


@pytest.fixture
def media_config() -> dict[str, Any]:
    return {"ip_range_whitelist": ["127.0.0.1/32"]}


async def test_whitelisted_previews_and_redirects_checked_per_hop(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession, site: str
) -> None:
    alice = await media_client.register()
    status, body = await _preview(media_client, alice.token, f"http://{site}/hop")
    assert status == 200, body
    assert_matches_spec("GET", f"{V1}/preview_url", 200, body)
    assert body["og:title"] == "A page & its title"
    assert body["og:description"] == "What the page is about"
    assert (body["og:image:width"], body["og:image:height"]) == (120, 80)
    assert body["og:image:type"] == "image/png"
    status, _headers, raw = await fetch(
        http, media_server, f"{V1}/download/{'/'.join(split_mxc(body['og:image']))}", alice.token
    )
    assert status == 200 and len(raw) == body["matrix:image:size"]

    status, body = await _preview(media_client, alice.token, f"http://{site}/bare")
    assert body == {"og:title": "Only a title", "og:description": "Desc"}
    # 127.0.0.2 is loopback too but not whitelisted: the redirect hop is refused.
    status, body = await _preview(media_client, alice.token, f"http://{site}/away")
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


async def test_whitelist_from_the_configuration_file(tmp_path: Path, site: str) -> None:
    """``tessera serve --config FILE`` with ``ip_range_whitelist: [127.0.0.0/8]``."""
    from tests.seaweed import _free_ports

    port = _free_ports(1)[0]
    config = {
        "server_name": "localhost",
        "listen": f"127.0.0.1:{port}",
        "data_dir": str(tmp_path / "data"),
        "ip_range_whitelist": ["127.0.0.0/8"],
    }
    (tmp_path / "tessera.yaml").write_text(yaml.safe_dump(config))
    tessera = Path(sys.executable).parent / "tessera"
    process = await asyncio.create_subprocess_exec(
        str(tessera), "serve", "--config", str(tmp_path / "tessera.yaml"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            client = Client(http, f"http://127.0.0.1:{port}")
            for _ in range(200):
                try:
                    if (await client.get("/_matrix/client/versions"))[0] == 200:
                        break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            alice = await client.register()
            status, body = await _preview(client, alice.token, f"http://{site}/page")
            assert status == 200, body
            assert body["og:title"] == "A page & its title"
            assert body["og:image"].startswith("mxc://localhost/")
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
