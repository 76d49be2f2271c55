"""Hostile input on every route: never a 5xx, and every 4xx carries an `errcode`.

Walks every route the app serves (api/routes.py `build_routes`), authenticated as a room member,
again as a server admin (so the admin routes get past their guard), as an application service's
bot (its own routes, and masquerading), and the SCIM routes with a SCIM token, with real IDs in
the
path, so that requests reach their decoders and stores: bodies nested
10,000 levels deep, integer query and body parameters at -1, 2^53, 2^63 and 2^64, and NUL bytes
and lone surrogates (invalid UTF-8 once percent-decoded) in path parameters, query parameters
and JSON strings. PostgreSQL is where a NUL in text or an integer past BIGINT fails.

So that each request does reach its decoder: rate limits are lifted for this module (a 429 is a
problem here), the routes that end the caller's session (logout, deactivation) come last, and a
session found dead before them fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bastion.api.routes import build_routes
from tests.api.appservice_fixtures import AS_TOKEN, appservice_config
from tests.api.scim.scim_helpers import Scim, scim_token
from tests.conftest import Homeserver, UserClient, client_path, errcode
from tests.hostile import LONE_SURROGATE, NO_RATE_LIMITS, NUL, fill_path, path_params

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
HOSTILE_INTEGERS = (-1, 2**53, 2**63, 2**64)
INTEGER_QUERY_PARAMS = (
    "limit", "ts", "timeout", "timeout_ms", "width", "height", "before_ts", "max_timestamp",
    "size_gt", "max_depth", "startIndex", "count",
)  # fmt: skip
TOKEN_QUERY_PARAMS = ("from", "to", "since", "next_batch", "at", "version")
STRING_QUERY_PARAMS = (
    "filter", "dir", "format", "membership", "not_membership", "kind", "username", "token",
    "server", "rel_type", "event_type", "set_presence", "filename", "method", "include", "only",
    "full_state", "recurse", "allow_remote", "allow_redirect", "animated", "user_id", "name",
    "order_by", "resource_id", "action_name", "status", "room_id", "search_term",
    "event_sender_user_id", "deactivated", "admins", "valid", "attributes",
    "excludedAttributes", "sortBy", "sortOrder",
)  # fmt: skip
INTEGER_BODY_FIELDS = (
    "limit", "timeout", "ts", "count", "first_message_index", "forwarded_count", "duration_ms",
    "last_active_ago", "expires_in_ms", "order", "before_ts", "after_ts", "purge_up_to_ts",
    "uses_allowed", "expiry_time", "length", "messages_per_second", "burst_count",
    "valid_until_ms", "days", "retention_days",
)  # fmt: skip
STRING_BODY_FIELDS = (
    "displayname", "avatar_url", "body", "msgtype", "name", "topic", "reason", "user_id",
    "room_alias_name", "presence", "status_msg", "search_term", "device_id", "type", "password",
    "username", "initial_device_display_name", "room_id", "alias", "visibility", "preset",
    "membership", "m.fully_read", "m.read", "filter", "server", "algorithm", "version",
    "new_room_user_id", "room_name", "message", "token", "purge_up_to_event_id", "user_type",
    "external_id", "auth_provider", "pattern", "action", "severity", "note", "label",
    "userName", "externalId", "displayName", "nickName", "title", "value", "path", "op",
)  # fmt: skip
STRING_LIST_BODY_FIELDS = (
    "rooms", "user_ids", "invite", "event_ids", "room_ids", "users", "schemas",
)  # fmt: skip
# Hostile integers inside tokens: `s<position>` and `-1`.
HOSTILE_TOKENS = ("-1", "s-1", f"s{2**64}", f"s{2**63}", str(2**64))


# The routes that may end the caller's session: sent after every other route.
SESSION_ENDING = re.compile(r"/(logout|logout/all|account/deactivate)$")


@pytest.fixture
def config_overrides(tmp_path: Path) -> dict[str, Any]:
    """No rate limit: a 429 would stop a hostile request before its decoder. The application
    services of appservice_fixtures.py (no URL: nothing is pushed)."""
    return {
        "rate_limits": NO_RATE_LIMITS,
        **appservice_config(tmp_path, None),
    }


def _routes() -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, once per template (r0 mirrors v3)."""
    seen: set[tuple[str, str]] = set()
    for route in build_routes():
        path = getattr(route, "path", None)
        assert isinstance(path, str)
        if path.startswith("/_matrix/client/r0/"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD" and (method, path) not in seen:
                seen.add((method, path))
                yield method, path


ROUTES = sorted(_routes(), key=lambda route: (bool(SESSION_ENDING.search(route[1])), route))
ONLY = "only"  # in the path values: attack only the routes under this prefix (a SCIM client)


def _targets(values: dict[str, str]) -> list[tuple[str, str]]:
    return [route for route in ROUTES if route[1].startswith(values.get(ONLY, "/"))]


async def _world(hs: Homeserver, caller: str) -> tuple[UserClient, dict[str, str]]:
    """The attacker (`caller`: alice, the room's creator; root, a server admin in it; a bridge's
    bot, with its application service token; or an identity provider's SCIM token, on the SCIM
    routes only) and the real IDs to put in paths
    (alice's, and a SCIM user's)."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_alias_name="hostile")
    event_id = await alice.send_text(room_id, "hello")
    resp = await alice.post(f"/user/{alice.user_id}/filter", json={})
    values = {
        "roomId": room_id, "eventId": event_id, "userId": alice.user_id,
        "roomIdOrAlias": room_id, "roomAlias": f"#hostile:{hs.server_name}",
        "eventType": "m.room.message", "stateKey": "", "txnId": "t1",
        "deviceId": alice.device_id, "filterId": resp.json()["filter_id"],
        "receiptType": "m.read", "relType": "m.annotation", "type": "m.test", "tag": "u.work",
        "version": "1", "sessionId": "s1", "serverName": hs.server_name, "mediaId": "abcdef",
        "fileName": "f.txt", "kind": "override", "ruleId": ".m.rule.master", "protocol": "irc",
    }  # fmt: skip
    if caller == "scim":  # an identity provider: only the SCIM routes, with a real user's ID
        token = await scim_token(hs)
        scim_user = await Scim(hs, token).create_user("hostile")
        values |= {"id": scim_user["id"], ONLY: "/scim/"}
        return UserClient(alice.http, alice.user_id, alice.device_id, token), values
    if caller == "appservice":  # a bridge's bot, in the room (its own rate limit is off)
        bot = UserClient(alice.http, f"@bridgebot:{hs.server_name}", "", AS_TOKEN)
        await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bot.user_id})
        assert (await bot.post(f"/join/{room_id}", json={})).status_code == 200
        values |= {"appserviceId": "bridge"}
        return bot, values
    if caller == "admin":
        root = await hs.register_user("root", admin=True)
        await alice.post(f"/rooms/{room_id}/invite", json={"user_id": root.user_id})
        await root.join(room_id)
        return root, values
    return alice, values


async def _send(
    alice: UserClient, method: str, url: str, content: bytes | None = None
) -> httpx.Response:
    headers = {**alice._headers(), "Content-Type": "application/json"}
    resp = await alice.http.request(method, url, content=content, headers=headers)
    if (
        resp.status_code == 401
        and not SESSION_ENDING.search(resp.request.url.path)
        and (await alice.get("/account/whoami")).status_code == 401
    ):
        raise AssertionError(
            f"the session ended before {method} {url}: later requests test nothing"
        )
    return resp


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _problem(resp: httpx.Response) -> str | None:
    """Why `resp` is not an acceptable answer to hostile input, if it is not: a 5xx, or a 4xx
    without a Matrix `errcode` (SCIM answers in RFC 7644 §3.12's shape instead, the SSO
    callback with a page for the browser)."""
    if resp.status_code >= 500:
        return f"{resp.status_code} {resp.text[:200]}"
    if resp.status_code == 429 and not resp.request.url.path.endswith("/media/v1/create"):
        # (creating media answers 429 past its bound on pending uploads: its own answer)
        return "429: rate-limited, so it never reached its decoder"
    if 400 <= resp.status_code < 500:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.request.url.path.startswith("/scim/"):
            if SCIM_ERROR in body.get("schemas", []) and body.get("status") == str(
                resp.status_code
            ):
                return None
            return f"{resp.status_code} not a SCIM error: {resp.text[:200]}"
        path = resp.request.url.path
        is_page = (
            path.startswith("/_bastion/sso/") or path.endswith("/auth/m.login.sso/fallback/web")
        ) and resp.headers.get("content-type", "").startswith("text/html")
        # the SSO pages answer the browser (api/sso/): the callback and the UIA fallback
        if not is_page and not isinstance(body.get("errcode"), str):
            return f"{resp.status_code} without errcode: {resp.text[:200]}"
    return None


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


async def _deep_bodies(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in _targets(values):
        if method not in BODY_METHODS:
            continue
        for depth in (10_000, 500):
            resp = await _send(alice, method, fill_path(template, values), _nested(depth))
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template} depth {depth}: {problem}")
    return problems


async def _integer_queries(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    cases = [(p, str(v)) for p in INTEGER_QUERY_PARAMS for v in HOSTILE_INTEGERS]
    cases += [(p, v) for p in TOKEN_QUERY_PARAMS for v in HOSTILE_TOKENS]
    for method, template in _targets(values):
        for name, raw in cases:
            url = f"{fill_path(template, values)}?{name}={quote(raw)}"
            resp = await _send(alice, method, url, b"{}" if method in BODY_METHODS else None)
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template}?{name}={raw}: {problem}")
    return problems


async def _integer_bodies(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in _targets(values):
        if method not in BODY_METHODS:
            continue
        for number in HOSTILE_INTEGERS:
            body = ", ".join(f'"{field}": {number}' for field in INTEGER_BODY_FIELDS)
            resp = await _send(alice, method, fill_path(template, values), f"{{{body}}}".encode())
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template} body integers {number}: {problem}")
    return problems


def _integer_fields(values: dict[str, str], n: int) -> list[tuple[str, str, object]]:
    """Requests that are right but for one integer field of the body or a filter."""
    room, user = values["roomId"], values["userId"]
    keys = {"first_message_index": n, "forwarded_count": 0, "is_verified": False}
    limit_filter = quote(f'{{"limit": {n}}}')
    timeline_filter = quote(f'{{"room": {{"timeline": {{"limit": {n}}}}}}}')
    return [
        ("PUT", f"/rooms/{room}/typing/{user}", {"typing": True, "timeout": n}),
        ("POST", "/publicRooms", {"limit": n}),
        ("POST", "/user_directory/search", {"search_term": "al", "limit": n}),
        ("POST", "/search", {"search_categories": {"room_events": {
            "search_term": "hello", "event_context": {"before_limit": n, "after_limit": n},
        }}}),
        ("POST", f"/user/{user}/filter", {"room": {"timeline": {"limit": n}}}),
        ("GET", f"/rooms/{room}/messages?filter={limit_filter}", None),
        ("GET", f"/sync?filter={timeline_filter}", None),
        ("PUT", f"/room_keys/keys/{room}/s1?version=1", {**keys, "session_data": {}}),
        ("PUT", f"/room_keys/keys/{room}/s1?version=1",
         {**keys, "first_message_index": 0, "forwarded_count": n, "session_data": {}}),
    ]  # fmt: skip


async def _integer_body_fields(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    if ONLY in values:
        return problems  # these are client routes
    resp = await alice.post(
        "/room_keys/version", json={"algorithm": "m.megolm_backup.v1", "auth_data": {}}
    )
    assert resp.status_code == 200, resp.text
    for number in HOSTILE_INTEGERS:
        for method, path, body in _integer_fields(values, number):
            resp = await alice.http.request(
                method, client_path(path), json=body, headers=alice._headers()
            )
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {path} {body} = {number}: {problem}")
    return problems


async def _bad_text_in_path(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in _targets(values):
        for name in path_params(template):
            for bad in (NUL, LONE_SURROGATE):
                url = fill_path(template, values, (name, bad))
                resp = await _send(alice, method, url, b"{}" if method in BODY_METHODS else None)
                if (problem := _problem(resp)) is not None:
                    problems.append(f"{method} {template} {name}={bad}: {problem}")
    return problems


async def _bad_text_in_query(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in _targets(values):
        for name in STRING_QUERY_PARAMS + TOKEN_QUERY_PARAMS:
            for bad in (NUL, LONE_SURROGATE):
                url = f"{fill_path(template, values)}?{name}={bad}"
                resp = await _send(alice, method, url, b"{}" if method in BODY_METHODS else None)
                if (problem := _problem(resp)) is not None:
                    problems.append(f"{method} {template}?{name}={bad}: {problem}")
    return problems


async def _bad_text_in_body(alice: UserClient, values: dict[str, str]) -> list[str]:
    problems = []
    for method, template in _targets(values):
        if method not in BODY_METHODS:
            continue
        for bad in ("a\\u0000b", "a\\ud800b"):
            fields = ", ".join(f'"{field}": "{bad}"' for field in STRING_BODY_FIELDS)
            lists = ", ".join(f'"{field}": ["{bad}"]' for field in STRING_LIST_BODY_FIELDS)
            body = f'{{{fields}, {lists}, "content": {{"k{bad}": "{bad}"}}}}'.encode()
            resp = await _send(alice, method, fill_path(template, values), body)
            if (problem := _problem(resp)) is not None:
                problems.append(f"{method} {template} body {bad}: {problem}")
    return problems


@pytest.mark.parametrize(
    "attack",
    [
        _deep_bodies,
        _integer_queries,
        _integer_bodies,
        _integer_body_fields,
        _bad_text_in_path,
        _bad_text_in_query,
        _bad_text_in_body,
    ],
)
@pytest.mark.parametrize("caller", ["member", "admin", "scim", "appservice"])
async def test_hostile_input_never_gives_5xx(hs: Homeserver, attack: object, caller: str) -> None:
    """spec: client-server-api#standard-error-response: "Any errors which occur at the Matrix
    API level MUST return a 'standard error response'", a JSON object with an `errcode`;
    "M_NOT_JSON: Request did not contain valid JSON", "M_BAD_JSON: Request contained valid
    JSON, but it was malformed in some way", "M_INVALID_PARAM: A parameter that was passed
    was invalid". Hostile input is the client's error: a 4xx, never a 5xx."""
    alice, values = await _world(hs, caller)
    assert callable(attack)
    problems = await attack(alice, values)
    assert problems == [], "\n".join(problems)


async def test_out_of_range_timestamp_is_invalid_param(hs: Homeserver) -> None:
    """spec: client-server-api#get_matrixclientv1roomsroomidtimestamp_to_event: `ts` is "The
    timestamp to search from, as given in milliseconds since the Unix epoch"; "M_INVALID_PARAM:
    A parameter that was specified has the wrong value"."""
    alice, values = await _world(hs, "member")
    path = f"/_matrix/client/v1/rooms/{values['roomId']}/timestamp_to_event"
    for ts in ("-10212475875", str(2**53), str(2**63), str(2**64)):
        resp = await alice.get(path, params={"ts": ts, "dir": "f"})
        assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.get(path, params={"ts": str(hs.clock.now_ms()), "dir": "b"})
    assert resp.status_code == 200
