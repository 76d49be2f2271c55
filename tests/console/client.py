"""A browser-like client of the in-process console: cookies, forms with their CSRF token.

Used by the fast tests (httpx over ASGI against the `hs` fixture's runtime); the browser tests
in `browser/` drive a real `bastion serve` with Chromium instead.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from bastion.app.asgi import create_app
from tests.conftest import PASSWORD, Homeserver

ADMIN = "/admin"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SIGNIN = re.compile(r'name="signin_token" value="([^"]+)"')


class ConsoleClient:
    """One browser: its own cookie jar, speaking to the console of `hs`."""

    def __init__(self, hs: Homeserver, base_url: str = "http://bastion.test", **transport: Any):
        options = {"client": ("203.0.113.7", 5555), **transport}
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(hs.runtime), **options),
            base_url=base_url,
        )
        self.csrf_token = ""

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        resp = await self.http.get(ADMIN + path, **kwargs)
        if match := _CSRF.search(resp.text):
            self.csrf_token = html.unescape(match.group(1))
        return resp

    async def post(
        self, path: str, data: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """POST a form with the session's CSRF token (unless `data` sets its own)."""
        form = {"csrf_token": self.csrf_token, **(data or {})}
        return await self.http.post(ADMIN + path, data=form, **kw)

    async def sign_in(self, user: str, password: str = PASSWORD, **kw: Any) -> httpx.Response:
        """Open the sign-in page, then submit it (as a browser does)."""
        page = await self.get("/login")
        match = _SIGNIN.search(page.text)
        assert match is not None, page.text
        form = {"user": user, "password": password, "signin_token": match.group(1), "next": ""}
        resp = await self.http.post(ADMIN + "/login", data=form, **kw)
        if resp.status_code == 303:
            await self.get("/")  # picks up the session's CSRF token
        return resp
