"""The media repository's pure rules: who may upload where, thumbnail geometry,
download headers and ranges, what a page says about itself, which addresses
outbound requests may reach, and the media read model's fold."""

from __future__ import annotations

import pytest
from aiohttp import web

from tessera.app.media.html_meta import decode_html, page_meta
from tessera.app.media.responses import disposition, parse_range
from tessera.app.media.sizes import close_fit, parse_thumbnail_size
from tessera.app.media.thumbnails import Request, target_size
from tessera.app.outbound import AddressPolicy
from tessera.command.media import Media, MediaError
from tessera.projections import media as projection
from tessera.schema.log import LogRecord
from tessera.schema.media import (
    MEDIA_CREATED,
    MEDIA_UPLOADED,
    MediaCreated,
    MediaUploaded,
    is_valid_media_id,
)

ALICE, BOB = "@alice:hs", "@bob:hs"


def _uploaded(media_id: str = "abc") -> MediaUploaded:
    return MediaUploaded(media_id, ALICE, "image/png", 3, None, "00", "originals/ab/abc-1", 5)


def _reserved(expires_at: int = 1000) -> Media:
    agg = Media("media|hs/abc")
    agg.apply(LogRecord(1, agg.stream, 1, MEDIA_CREATED,
                        MediaCreated("abc", ALICE, 0, expires_at).encode()))  # fmt: skip
    return agg


@pytest.mark.parametrize(
    ("agg", "user", "now", "reserved", "errcode"),
    [
        (_reserved(), ALICE, 10, True, None),
        (_reserved(), BOB, 10, True, "M_FORBIDDEN"),
        (_reserved(expires_at=5), ALICE, 10, True, "M_NOT_FOUND"),
        (Media("media|hs/abc"), ALICE, 10, True, "M_NOT_FOUND"),
        (Media("media|hs/abc"), ALICE, 10, False, None),
        (_reserved(), ALICE, 10, False, "M_CANNOT_OVERWRITE_MEDIA"),
    ],
)
def test_who_may_upload(
    agg: Media, user: str, now: int, reserved: bool, errcode: str | None
) -> None:
    if errcode is None:
        agg.check_upload(user, now, reserved=reserved)
        return
    with pytest.raises(MediaError) as e:
        agg.check_upload(user, now, reserved=reserved)
    assert e.value.errcode == errcode


def test_media_is_immutable_once_uploaded() -> None:
    agg = _reserved()
    agg.apply(LogRecord(2, agg.stream, 2, MEDIA_UPLOADED, _uploaded().encode()))
    with pytest.raises(MediaError) as e:
        agg.check_upload(ALICE, 10, reserved=True)
    assert (e.value.status, e.value.errcode) == (409, "M_CANNOT_OVERWRITE_MEDIA")


def test_media_ids_are_the_specs_characters_only() -> None:
    assert is_valid_media_id("aZ09_-")
    for bad in ("", "../etc", "a.b", "a/b", "%2e%2e", "é"):
        assert not is_valid_media_id(bad), bad


def test_the_fold_marks_reservations_pending_then_ready() -> None:
    created = LogRecord(7, "media|hs/abc", 1, MEDIA_CREATED,
                        MediaCreated("abc", ALICE, 1, 99).encode())  # fmt: skip
    [change] = projection.apply(created)
    assert "'pending'" in change.statement and change.params[-1] == 7
    [change] = projection.apply(LogRecord(8, "media|hs/abc", 2, MEDIA_UPLOADED,
                                          _uploaded().encode()))  # fmt: skip
    assert "'ready'" in change.statement and "originals/ab/abc-1" in change.params
    assert projection.apply(LogRecord(9, "x", 1, "other.kind", b"{}")) == []


@pytest.mark.parametrize(
    ("src", "request_", "expected"),
    [
        ((1000, 800), Request(320, 240, "scale"), (300, 240)),
        ((800, 1000), Request(320, 240, "scale"), (192, 240)),
        ((2000, 500), Request(320, 240, "scale"), (320, 80)),
        ((1000, 800), Request(96, 96, "crop"), (96, 96)),
        ((100, 50), Request(320, 240, "scale"), (100, 50)),  # never upscaled
        ((100, 1000), Request(200, 200, "crop"), (100, 100)),  # the aspect, within the source
    ],
)
def test_thumbnail_geometry(src: tuple[int, int], request_: Request,
                            expected: tuple[int, int]) -> None:  # fmt: skip
    assert target_size(src, request_) == expected


def test_configured_sizes_and_close_fits() -> None:
    sizes = [parse_thumbnail_size(s) for s in ("32x32-crop", "96x96-crop", "320x240-scale")]
    assert close_fit(sizes, 60, 60, "crop") == sizes[1]
    assert close_fit(sizes, 40, 30, "crop") is None  # 96 is more than twice 40
    assert close_fit(sizes, 32, 32, "scale") is None
    for bad in ("32x32", "0x10-crop", "10x10-zoom", "99999x1-crop"):
        with pytest.raises(ValueError):
            parse_thumbnail_size(bad)


def test_content_disposition() -> None:
    assert disposition("image/png", "a.png") == 'inline; filename="a.png"'
    assert disposition("text/html", "x.html") == 'attachment; filename="x.html"'
    assert disposition("image/svg+xml", None) == "attachment"
    assert disposition("text/plain; charset=utf-8", None) == "inline"
    assert disposition("application/pdf", 'a"b.pdf') == "attachment; filename*=utf-8''a%22b.pdf"
    assert disposition("application/pdf", "ü.pdf") == "attachment; filename*=utf-8''%C3%BC.pdf"


def test_ranges() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=50-1000", 100) == (50, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several: the whole content
    assert parse_range("items=0-1", 100) is None
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-0"):
        with pytest.raises(web.HTTPRequestRangeNotSatisfiable):
            parse_range(bad, 100)


def test_page_meta() -> None:
    html = ('<head><meta property="og:title" content=" T "><meta name="og:site_name" '
            'content="S"><title>x</title><meta name="description" content="D"></head>')  # fmt: skip
    assert page_meta(html) == {"og:title": "T", "og:site_name": "S", "og:description": "D"}
    assert page_meta("<title>Only</title>") == {"og:title": "Only"}
    assert page_meta("<<<not html") == {}
    latin = "<title>caf\xe9</title>".encode("latin-1")
    assert decode_html(latin, "text/html; charset=iso-8859-1") == "<title>café</title>"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("ff02::1", False),
    ],
)
def test_outbound_address_policy(address: str, allowed: bool) -> None:
    assert AddressPolicy().allows(address) is allowed


def test_outbound_whitelist() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "fd00::/8"])
    assert policy.allows("127.0.0.1") and policy.allows("::ffff:127.0.0.5")
    assert policy.allows("fd12::1")
    assert not policy.allows("10.0.0.1")
