"""What a web page says about itself for a preview: its Open Graph properties (https://ogp.me:
`<meta property="og:title" content="...">`), with the fallbacks browsers and other servers use
when a page has none: the `<title>` for `og:title`, `<meta name="description">` for
`og:description`. Read with the standard library's HTML parser (tolerant of broken markup, no
scripts run, nothing fetched); only the `<head>` matters, and reading stops at `<body>`.

Values are plain strings, trimmed and bounded (`MAX_VALUE_LENGTH`), at most `MAX_PROPERTIES`
of them: a page is untrusted input, and a preview is a few lines in a client.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from typing_extensions import override

MAX_VALUE_LENGTH = 1_000
# A head is a few KiB; the parser is pure Python on the event loop: a page with no <body> or
# </head> is read this far and no further.
MAX_PARSED_CHARACTERS = 262_144
MAX_PROPERTIES = 50
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def page_text(body: bytes, content_type: str) -> str:
    """The page decoded: the charset of its Content-Type, else of a `<meta>` near its start,
    else UTF-8 (what cannot be decoded is replaced, never an error)."""
    charset = None
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if charset is None and (found := _CHARSET.search(body[:4096])):
        charset = found[1].decode("ascii")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def open_graph(html: str) -> dict[str, str]:
    """The page's `og:*` properties (with the fallbacks of the module docstring)."""
    parser = _HeadParser()
    try:
        parser.feed(html[:MAX_PARSED_CHARACTERS])
        parser.close()
    except _Done:
        pass
    found = dict(parser.properties)
    if "og:title" not in found and parser.title.strip():
        found["og:title"] = _bounded(parser.title)
    if "og:description" not in found and parser.description:
        found["og:description"] = parser.description
    return found


class _Done(Exception):
    """The head is over: nothing after it is read."""


class _HeadParser(HTMLParser):
    @override
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.properties: dict[str, str] = {}
        self.title = ""
        self.description: str | None = None
        self._in_title = False

    @override
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            raise _Done
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            self._meta({name: value or "" for name, value in attrs})

    @override
    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            raise _Done

    @override
    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < MAX_VALUE_LENGTH:
            self.title += data

    def _meta(self, attrs: dict[str, str]) -> None:
        content = attrs.get("content")
        if content is None:
            return
        key = attrs.get("property") or attrs.get("name") or ""
        if key.startswith("og:") and len(self.properties) < MAX_PROPERTIES:
            self.properties.setdefault(key, _bounded(content))  # the first of a key wins
        elif key.lower() == "description" and self.description is None:
            self.description = _bounded(content)


def _bounded(value: str) -> str:
    return " ".join(value.split())[:MAX_VALUE_LENGTH]
