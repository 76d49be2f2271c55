"""Request IDs through the HTTP stack (api/request_id.py): echoed in `X-Request-ID`, and carried
by every log line of the request, the access log's included.

docs/operations.md#request-ids: "Each request gets an ID: the X-Request-ID header it came with,
when sane, else a fresh one. The response carries it back in X-Request-ID, and every log line
written while serving the request carries it."
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bastion.observability.logs import log_handler
from tests.conftest import Homeserver


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The access log in JSON, captured (as `[logging] format = "json"` writes it)."""
    buffer = io.StringIO()
    logger = logging.getLogger("bastion.access")
    handler = log_handler("json", buffer)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _entries(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_incoming_request_id_is_echoed_and_logged(
    hs: Homeserver, access_lines: io.StringIO
) -> None:
    """ "the X-Request-ID header it came with, when sane" ... "carries it back" ... "every log
    line written while serving the request carries it"."""
    alice = await hs.register_user("alice")
    resp = await hs.http.get(
        "/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {alice.token}", "X-Request-ID": "lb-7f3a:1"},
    )
    assert resp.status_code == 200
    assert resp.headers["x-request-id"] == "lb-7f3a:1"
    (entry,) = [e for e in _entries(access_lines) if "whoami" in str(e["message"])]
    assert entry["request_id"] == "lb-7f3a:1"
    assert entry["logger"] == "bastion.access"


async def test_each_request_gets_its_own_fresh_id(
    hs: Homeserver, access_lines: io.StringIO
) -> None:
    """ "else a fresh one": without the header, or with one that is not sane."""
    first = await hs.http.get("/_matrix/client/versions")
    second = await hs.http.get("/_matrix/client/versions", headers={"X-Request-ID": "a b\tc"})
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids[0] != ids[1]
    assert "a b\tc" not in ids
    logged = [e["request_id"] for e in _entries(access_lines)]
    assert logged == ids


async def test_error_responses_carry_the_request_id(hs: Homeserver) -> None:
    """An error (here an unknown endpoint) is the response users report: it has the ID too."""
    resp = await hs.http.get("/_matrix/client/v3/nonexistent", headers={"X-Request-ID": "r1"})
    assert resp.status_code == 404
    assert resp.headers["x-request-id"] == "r1"


async def test_answers_of_the_edge_itself_carry_the_id_and_cors_once(hs: Homeserver) -> None:
    """ "The response carries it back in X-Request-ID": also the answers given before routing
    (a CORS preflight, a body over the limit, a path that is not text), each with one ID and
    the CORS headers exactly once."""
    answers = [
        await hs.http.options("/_matrix/client/v3/sync", headers={"X-Request-ID": "e1"}),
        await hs.http.post(
            "/_matrix/client/v3/createRoom",
            content=b"{}",
            headers={"X-Request-ID": "e2", "Content-Length": str(1 << 40)},
        ),
        await hs.http.get("/_matrix/client/v3/profile/%00", headers={"X-Request-ID": "e3"}),
    ]
    assert [r.status_code for r in answers] == [200, 413, 400]
    for expected, resp in zip(("e1", "e2", "e3"), answers, strict=True):
        assert resp.headers.get_list("x-request-id") == [expected]
        assert resp.headers.get_list("access-control-allow-origin") == ["*"]
