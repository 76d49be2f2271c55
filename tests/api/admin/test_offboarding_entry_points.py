"""Offboarding's other entry points and rules: legal holds keep events from erasure, knocks are
withdrawn, the client's own `/account/deactivate` (with `erase`), SCIM, and the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig
from bastion.errors import MatrixError
from bastion.services.offboarding import Offboarding
from bastion.services.principal import AppService, Operator, ScimClient
from bastion.store.database import Queryable
from bastion.store.protocols.offboarding import ErasableEvent
from tests.cli_helpers import cli_config_args, cli_create_user
from tests.conftest import Homeserver, errcode

OPERATOR = Operator("root")
VERSIONS = pytest.mark.parametrize("version", ["9", "10", "11", "12"])


class HoldFirstMessage:
    """A hold checker (the protocol the compliance work implements) covering one event."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id

    async def held_events(
        self, q: Queryable, user_id: str, events: Sequence[ErasableEvent]
    ) -> frozenset[str]:
        return frozenset(e.event_id for e in events if e.event_id == self.event_id)


@VERSIONS
async def test_erasure_keeps_the_events_a_legal_hold_covers(hs: Homeserver, version: str) -> None:
    """ "with `erase: true`: profile cleared and their messages redacted (unless a legal hold
    covers them [...] build the check as a hook the compliance work plugs into)"."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await carol.create_room(room_version=version, preset="public_chat")
    await bob.join(room)
    held = await bob.send_text(room, "evidence")
    erased = await bob.send_text(room, "gossip")
    service = hs.runtime.services.offboarding
    holding = Offboarding(dataclasses.replace(service.deps, holds=HoldFirstMessage(held)))
    report = await holding.offboard(OPERATOR, bob.user_id, erase=True)
    assert (report.events_redacted, report.events_held) == (1, 1)
    kept = await carol.get(f"/rooms/{room}/event/{held}")
    assert kept.json()["content"]["body"] == "evidence"
    gone = await carol.get(f"/rooms/{room}/event/{erased}")
    assert gone.json()["content"] == {}
    search = await carol.post("/search", json={
        "search_categories": {"room_events": {"search_term": "gossip"}}})  # fmt: skip
    assert search.json()["search_categories"]["room_events"]["results"] == []


@VERSIONS
async def test_a_knock_is_withdrawn(hs: Homeserver, version: str) -> None:
    """ "they leave every room ([...] knocks withdrawn)"."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await carol.create_room(
        room_version=version,
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}],
    )
    resp = await bob.post(f"/knock/{room}", json={})
    assert resp.status_code == 200, resp.text
    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    assert report.knocks_withdrawn == [room]
    member = await carol.get(f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member.json()["membership"] == "leave"


async def test_the_users_own_deactivation_runs_the_workflow_with_erase(hs: Homeserver) -> None:
    """spec: POST /account/deactivate: `erase`: "Whether the user would like their content to be
    erased as much as possible from the server." The same workflow: the sole admin's room gets
    its successor (the policy's fallback admin) before the user leaves."""
    bob = await hs.register_user("bob")
    dave = await hs.register_user("dave")
    room = await bob.create_room(preset="public_chat")
    await dave.join(room)
    await hs.runtime.services.policy.replace(OPERATOR, {"rooms": {"fallback_admin": dave.user_id}})
    event_id = await bob.send_text(room, "bye")
    auth = {"type": "m.login.password", "password": "correct horse battery staple",
            "identifier": {"type": "m.id.user", "user": "bob"}}  # fmt: skip
    resp = await bob.post("/account/deactivate", json={"erase": True})
    assert resp.status_code == 401  # UIA first
    resp = await bob.post(
        "/account/deactivate", json={"erase": True, "auth": {**auth, "session": resp.json()[
            "session"]}},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    power = await dave.get(f"/rooms/{room}/state/m.room.power_levels/")
    assert power.json()["users"][dave.user_id] == 100
    assert (await dave.get(f"/rooms/{room}/event/{event_id}")).json()["content"] == {}
    member = await dave.get(f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member.json()["membership"] == "leave"


async def test_scim_may_offboard_and_an_application_service_may_not(hs: Homeserver) -> None:
    """SCIM's `active: false` and DELETE offboard (deprovisioning is provisioning's own power);
    nobody else but an admin or the user themself may."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    offboarding = hs.runtime.services.offboarding
    with pytest.raises(MatrixError) as refused:
        await offboarding.offboard(AppService("bridge"), bob.user_id)
    assert refused.value.errcode == "M_FORBIDDEN"
    assert (await carol.get("/account/whoami")).status_code == 200
    report = await offboarding.offboard(ScimClient("okta"), bob.user_id)
    assert report.status == "done"
    assert errcode(await bob.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")


async def test_offboarding_an_unknown_user_is_404(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    resp = await root.post("/_bastion/admin/v1/users/@nobody:test.bastion/offboard", json={})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    resp = await root.get("/_bastion/admin/v1/offboarding/off_unknown")
    assert errcode(resp) == (404, "M_NOT_FOUND")


def test_cli_deactivate_prints_the_report(
    tmp_path: Path,
    database_config: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`bastion user deactivate NAME [--erase]` (prints the report)."""
    argv = cli_config_args(tmp_path, database_config)
    cli_create_user(argv, monkeypatch, "alice")
    capsys.readouterr()
    assert cli.main(["user", "deactivate", "alice", "--erase", *argv]) == 0
    out = capsys.readouterr().out
    assert "deactivated @alice:" in out
    assert "sessions revoked: 0" in out
    assert "messages erased: 0" in out
