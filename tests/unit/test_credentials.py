"""Which user a login or UIA body names (`resolve_user_id`)."""

from __future__ import annotations

import pytest

from bastion.errors import Errcode, MatrixError
from bastion.services.credentials import resolve_user_id

SERVER = "example.org"


@pytest.mark.parametrize(
    ("identifier", "legacy_user", "expected"),
    [
        pytest.param(
            {"type": "m.id.user", "user": "alice"}, None, "@alice:example.org", id="localpart"
        ),
        pytest.param(
            {"type": "m.id.user", "user": "@alice:example.org"},
            None,
            "@alice:example.org",
            id="full-user-id",
        ),
        pytest.param(
            {"type": "m.id.user", "user": "Alice"},
            None,
            "@alice:example.org",
            id="uppercase-localpart",
        ),
        pytest.param(
            {"type": "m.id.user", "user": "@ALICE:example.org"},
            None,
            "@alice:example.org",
            id="uppercase-full-user-id",
        ),
        pytest.param(None, "alice", "@alice:example.org", id="legacy-user"),
        pytest.param(None, "@Bob:example.org", "@bob:example.org", id="legacy-full-user-id"),
        pytest.param(
            {"type": "m.id.user", "user": "alice"},
            "mallory",
            "@alice:example.org",
            id="identifier-wins-over-legacy",
        ),
    ],
)
def test_resolves(identifier: dict[str, object] | None, legacy_user: object, expected: str) -> None:
    assert resolve_user_id(identifier, legacy_user, SERVER) == expected


@pytest.mark.parametrize(
    "user",
    ["@alice:other.org", "@alice:example.org:8448", "@alice", "@alice:"],
)
def test_user_on_another_server_is_forbidden(user: str) -> None:
    with pytest.raises(MatrixError) as exc:
        resolve_user_id({"type": "m.id.user", "user": user}, None, SERVER)
    assert (exc.value.status, exc.value.errcode) == (403, Errcode.FORBIDDEN)


@pytest.mark.parametrize(
    "identifier",
    [
        {"type": "m.id.thirdparty", "medium": "email", "address": "a@example.org"},
        {"type": "m.id.phone", "country": "GB", "phone": "123"},
        {"user": "alice"},
    ],
)
def test_unknown_identifier_type(identifier: dict[str, object]) -> None:
    with pytest.raises(MatrixError) as exc:
        resolve_user_id(identifier, None, SERVER)
    assert (exc.value.status, exc.value.errcode) == (400, Errcode.UNKNOWN)


@pytest.mark.parametrize(
    ("identifier", "legacy_user"),
    [
        pytest.param({"type": "m.id.user"}, None, id="identifier-without-user"),
        pytest.param({"type": "m.id.user", "user": ""}, None, id="empty-user"),
        pytest.param({"type": "m.id.user", "user": 42}, None, id="non-string-user"),
        pytest.param(None, None, id="nothing-at-all"),
        pytest.param(None, "", id="empty-legacy-user"),
        pytest.param(None, ["alice"], id="legacy-user-not-a-string"),
    ],
)
def test_missing_user_is_bad_json(
    identifier: dict[str, object] | None, legacy_user: object
) -> None:
    with pytest.raises(MatrixError) as exc:
        resolve_user_id(identifier, legacy_user, SERVER)
    assert (exc.value.status, exc.value.errcode) == (400, Errcode.BAD_JSON)
