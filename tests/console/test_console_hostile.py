"""Hostile input on every console page and action, as a signed-in admin: never a 5xx, and every
4xx is a page with a readable message (the non-negotiable: "console pages a readable message").

Walks every console route (console/routes.py) with real IDs in the path, so requests reach their
parsers and services: NUL bytes and lone surrogates (invalid UTF-8 once percent-decoded) in path
parameters, query parameters and form fields, integers past what a database column holds, and
very long values. PostgreSQL is where a NUL in text or an integer past BIGINT fails. Rate limits
are lifted (a 429 would stop a request before its parser), forms carry the session's CSRF token
(a 403 CSRF refusal would too), and signing out comes last, a session found dead before it
failing the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.routing import Route

from bastion.console.headers import CONTENT_SECURITY_POLICY
from bastion.console.routes import console_routes
from tests.conftest import Homeserver
from tests.console.client import ADMIN, ConsoleClient
from tests.hostile import LONE_SURROGATE, NO_RATE_LIMITS, NUL, fill_path, path_params

HUGE = ("-1", str(2**63), str(2**64), "1e400")
LONG = "x" * 2_000
QUERY_PARAMS = (
    "q", "search", "from", "before", "start", "status", "name", "user_id", "format", "next",
    "subject", "page", "since", "until", "action", "actor",
)  # fmt: skip
FORM_FIELDS = (
    "reason", "user_id", "before", "version", "until", "users", "status", "size_mb", "search",
    "rooms", "name", "manager", "from", "displayname", "admin", "action", "user", "to_day",
    "text", "target", "since", "scope_users", "scope_rooms", "scope_groups", "resolution",
    "regex", "redacted_content_days", "q", "purge_interval_s", "password", "no_admin",
    "moderator", "max_admins", "localpart", "keywords", "include_media", "inactive_days",
    "from_day", "format", "fallback_admin", "erase", "encryption", "encrypted", "detectors",
    "creation_group", "creation", "case", "aup_en", "aup_ar", "aup_pl", "actor",
)  # fmt: skip
SIGN_OUT = "/logout"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """No rate limit: a 429 would stop a hostile request before its parser."""
    return {"rate_limits": NO_RATE_LIMITS}


def _routes() -> Iterator[tuple[str, str]]:
    """(method, path template) of every route a session reaches; signing out last."""
    found = []
    for route in console_routes():
        if isinstance(route, Route) and not route.path.startswith("/login"):
            found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return iter(sorted(found, key=lambda r: (r[1] == SIGN_OUT, r)))


ROUTES = list(_routes())


def _fill(template: str, values: dict[str, str], hostile: tuple[str, str] | None = None) -> str:
    return ADMIN + fill_path(template, values, hostile)


async def _world(hs: Homeserver, console: ConsoleClient) -> dict[str, str]:
    """Real IDs: alice, her device and room, a report on her message."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    event_id = await alice.send_text(room_id, "hello")
    report = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": "rude"})
    assert report.status_code == 200, report.text
    await console.get("/")  # the session's CSRF token
    return {
        "user_id": alice.user_id, "device_id": alice.device_id, "room_id": room_id,
        "report_id": "1", "language": "en",
    }  # fmt: skip


async def _send(
    console: ConsoleClient, method: str, url: str, form: str | None = None
) -> httpx.Response:
    """One request (a POST with the CSRF token and `form`, raw urlencoded text)."""
    if method == "POST":
        body = f"csrf_token={quote(console.csrf_token)}" + (f"&{form}" if form else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        resp = await console.http.post(url, content=body.encode(), headers=headers)
    else:
        resp = await console.http.request(method, url)
    if url.split("?", maxsplit=1)[0] != ADMIN + SIGN_OUT and resp.status_code == 303:
        still = await console.http.get(ADMIN + "/")
        if still.status_code == 303 and "/login" in still.headers.get("location", ""):
            raise AssertionError(
                f"the session ended at {method} {url}: later requests test nothing"
            )
    return resp


def _problem(resp: httpx.Response) -> str | None:
    """Why `resp` is not an acceptable answer to hostile input, if it is not."""
    if resp.status_code >= 500:
        return f"{resp.status_code} {resp.text[:300]}"
    if resp.status_code == 429:
        return "429: rate-limited, so it never reached its parser"
    if resp.status_code == 403 and "csrf" in resp.text.lower():
        return "403 CSRF: the form never reached its parser"
    if 400 <= resp.status_code < 500:
        kind = resp.headers.get("content-type", "")
        if not kind.startswith("text/html"):
            return f"{resp.status_code} not a page ({kind}): {resp.text[:200]}"
        if "Traceback" in resp.text or "<main" not in resp.text:
            return f"{resp.status_code} not a readable page: {resp.text[:200]}"
    return None


async def _bad_text_in_path(console: ConsoleClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in ROUTES:
        for name in path_params(template):
            for bad in (NUL, LONE_SURROGATE, quote(LONG)):
                resp = await _send(console, method, _fill(template, values, (name, bad)))
                if (problem := _problem(resp)) is not None:
                    problems.append(f"{method} {template} {name}={bad[:12]}: {problem}")
    return problems


async def _bad_query(console: ConsoleClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in ROUTES:
        for bad in (NUL, LONE_SURROGATE, *HUGE, LONG):
            query = "&".join(f"{name}={bad}" for name in QUERY_PARAMS)
            resp = await _send(console, method, f"{_fill(template, values)}?{query}")
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template}?…={bad[:12]}: {problem}")
    return problems


async def _bad_forms(console: ConsoleClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in ROUTES:
        if method != "POST":
            continue
        for bad in (NUL, LONE_SURROGATE, *HUGE, LONG):
            form = "&".join(f"{name}={bad}" for name in FORM_FIELDS)
            resp = await _send(console, method, _fill(template, values), form)
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template} form {bad[:12]}: {problem}")
    return problems


@pytest.mark.parametrize("attack", [_bad_text_in_path, _bad_query, _bad_forms])
async def test_hostile_input_gives_a_readable_page_never_a_5xx(
    hs: Homeserver, console: ConsoleClient, attack: object
) -> None:
    """Every console route under hostile input answers a page (or a redirect), never a 5xx,
    a traceback or a bare error body."""
    values = await _world(hs, console)
    assert callable(attack)
    problems = await attack(console, values)
    assert problems == [], "\n".join(problems)


async def test_a_path_that_is_not_text_gets_the_error_page(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """A NUL in a console path: the 400 page with the console's security headers, in the
    admin's language, before any route (the Matrix API answers the same with JSON)."""
    resp = await console.http.get(f"{ADMIN}/people/{NUL}", headers={"Accept-Language": "pl"})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert '<html lang="pl"' in resp.text
    api = await console.http.get(f"/_matrix/client/v3/profile/{NUL}")
    assert (api.status_code, api.json()["errcode"]) == (400, "M_INVALID_PARAM")
