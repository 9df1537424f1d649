"""What a page says about itself: OpenGraph properties, else its title and description.

A tolerant, bounded scan with the standard library's HTML parser (pages are
hostile and often broken): ``<meta property="og:…">`` (and ``name="og:…"``),
``<title>``, ``<meta name="description">``; it stops at ``<body>`` once the
head gave an ``og:title``. Values are trimmed and capped in length and number.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_PROPERTIES = 50
MAX_VALUE = 1000
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.og: dict[str, str] = {}
        self.title: str | None = None
        self.description: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "title" and self.title is None:
            self._in_title = True
        elif tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            content = values.get("content")
            if content is None or not key:
                return
            if key.startswith("og:") and len(self.og) < MAX_PROPERTIES:
                self.og.setdefault(key, _clean(content))
            elif key == "description" and self.description is None:
                self.description = _clean(content)
        elif tag == "body" and "og:title" in self.og:
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = _clean("".join(self._title_parts))

    def handle_data(self, data: str) -> None:
        if self._in_title and sum(map(len, self._title_parts)) < MAX_VALUE:
            self._title_parts.append(data)


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_VALUE]


def decode_html(body: bytes, content_type_header: str) -> str:
    """The page's text, in the charset its header or its ``<meta>`` names (else UTF-8)."""
    charset = None
    for part in content_type_header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip("\"' ")
    if charset is None:
        match = _CHARSET.search(body[:4096])
        charset = match[1].decode() if match else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def page_meta(html: str) -> dict[str, str]:
    """``og:*`` properties, with ``og:title``/``og:description`` filled from the
    page's ``<title>`` and description when it has no OpenGraph ones."""
    parser = _Meta()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # whatever was read before the parser choked still counts
        pass
    result = {k: v for k, v in parser.og.items() if v}
    if "og:title" not in result and parser.title:
        result["og:title"] = parser.title
    if "og:description" not in result and parser.description:
        result["og:description"] = parser.description
    return result
