"""The audit log: records in the action's transaction, a hash chain that finds tampering, the
admin API over it, and `bastion audit verify` (issue #12, section 5).

"each record carries the hash of the previous one (hash chain over canonical JSON)";
"`bastion audit verify` exits 0 when the chain is intact and 1 naming the first broken record
when a row was altered or deleted".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig
from bastion.errors import MatrixError
from bastion.services.principal import Operator, ServerActor
from tests.cli_helpers import cli_config_args, cli_create_user
from tests.conftest import Homeserver, errcode

OPERATOR = Operator("root")


async def _three_records(hs: Homeserver) -> None:
    audit = hs.runtime.services.audit
    await audit.record_alone(OPERATOR, "test.first", "@a:x", {"n": 1})
    await audit.record_alone(ServerActor("tests"), "test.second", "!r:x", {"n": 2})
    await audit.record_alone(OPERATOR, "test.third", None, {"text": "زيارة مريض"})


async def test_an_untouched_chain_verifies(hs: Homeserver) -> None:
    await _three_records(hs)
    report = await hs.runtime.services.audit_log.verify(OPERATOR)
    assert report.intact
    assert report.records >= 3


async def test_an_altered_row_is_found_and_named(hs: Homeserver) -> None:
    await _three_records(hs)
    db = hs.runtime.db
    row = await db.fetch_one("SELECT seq FROM audit_log WHERE action = 'test.second'")
    assert row is not None
    await db.execute("UPDATE audit_log SET details = ? WHERE seq = ?", json.dumps({"n": 3}), row[0])
    report = await hs.runtime.services.audit_log.verify(OPERATOR)
    assert report.broken_at == row[0]
    assert report.problem is not None
    assert "altered" in report.problem


async def test_a_deleted_row_is_found(hs: Homeserver) -> None:
    await _three_records(hs)
    db = hs.runtime.db
    row = await db.fetch_one("SELECT seq FROM audit_log WHERE action = 'test.second'")
    assert row is not None
    await db.execute("DELETE FROM audit_log WHERE seq = ?", row[0])
    report = await hs.runtime.services.audit_log.verify(OPERATOR)
    assert report.broken_at == row[0]
    assert report.problem is not None
    assert "missing" in report.problem


async def test_deleting_the_last_rows_is_found(hs: Homeserver) -> None:
    await _three_records(hs)
    db = hs.runtime.db
    last = await db.fetch_one("SELECT MAX(seq) FROM audit_log")
    assert last is not None
    await db.execute("DELETE FROM audit_log WHERE seq = ?", last[0])
    report = await hs.runtime.services.audit_log.verify(OPERATOR)
    assert report.broken_at == last[0]


async def test_a_rehashed_alteration_breaks_the_next_link(hs: Homeserver) -> None:
    """Recomputing the altered row's own hash is not enough: the next row chains to the old one."""
    await _three_records(hs)
    db = hs.runtime.db
    rows = await db.fetch_all("SELECT seq FROM audit_log ORDER BY seq")
    middle = rows[-2][0]
    await db.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = ?", middle)
    from bastion.services.audit.chain import expected_hash
    from bastion.store.sql.audit import SqlAuditStore

    (altered,) = await SqlAuditStore().rows_after(db, middle - 1, 1)
    await db.execute("UPDATE audit_log SET hash = ? WHERE seq = ?", expected_hash(altered), middle)
    report = await hs.runtime.services.audit_log.verify(OPERATOR)
    assert report.broken_at == middle + 1


async def test_a_failed_action_is_recorded_as_failed(hs: Homeserver) -> None:
    audit = hs.runtime.services.audit
    with pytest.raises(MatrixError):
        async with audit.attempt(OPERATOR, "test.fails", "@z:x"):
            raise MatrixError(404, "M_NOT_FOUND", "no such user")  # type: ignore[arg-type]
    row = await hs.runtime.db.fetch_one(
        "SELECT outcome, details FROM audit_log WHERE action = 'test.fails'"
    )
    assert row is not None
    assert row[0] == "failure"
    assert json.loads(row[1])["errcode"] == "M_NOT_FOUND"


async def test_admin_api_lists_filters_and_pages(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    await _three_records(hs)
    resp = await admin.get("/_bastion/admin/v1/audit", params={"action": "test.second"})
    assert resp.status_code == 200, resp.text
    entries = resp.json()["entries"]
    assert [e["action"] for e in entries] == ["test.second"]
    assert entries[0]["actor"] == "server"
    assert entries[0]["details"]["n"] == 2
    first = await admin.get("/_bastion/admin/v1/audit", params={"limit": "1"})
    body = first.json()
    assert len(body["entries"]) == 1
    assert body["next"] is not None
    second = await admin.get(
        "/_bastion/admin/v1/audit", params={"limit": "1", "from": body["next"]}
    )
    assert second.json()["entries"][0]["seq"] > body["entries"][0]["seq"]
    by_actor = await admin.get("/_bastion/admin/v1/audit", params={"actor": "root"})
    assert {e["action"] for e in by_actor.json()["entries"]} >= {"test.first", "test.third"}
    bad = await admin.get("/_bastion/admin/v1/audit", params={"limit": "zero"})
    assert errcode(bad) == (400, "M_INVALID_PARAM")


async def test_admin_api_exports_jsonl_and_csv(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    await _three_records(hs)
    jsonl = await admin.get("/_bastion/admin/v1/audit/export", params={"format": "jsonl"})
    assert jsonl.status_code == 200
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert any(line["details"].get("text") == "زيارة مريض" for line in lines)
    csv_resp = await admin.get("/_bastion/admin/v1/audit/export", params={"format": "csv"})
    assert csv_resp.text.splitlines()[0].startswith("seq,ts,actor_kind,actor,action")
    assert "test.third" in csv_resp.text
    bad = await admin.get("/_bastion/admin/v1/audit/export", params={"format": "xml"})
    assert errcode(bad) == (400, "M_INVALID_PARAM")


async def test_admin_api_verifies(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    await _three_records(hs)
    resp = await admin.post("/_bastion/admin/v1/audit/verify")
    assert resp.json()["intact"] is True
    await hs.runtime.db.execute("UPDATE audit_log SET target = 'x' WHERE action = 'test.first'")
    broken = (await admin.post("/_bastion/admin/v1/audit/verify")).json()
    assert broken["intact"] is False
    assert broken["broken_at"] is not None


async def test_non_admins_are_refused_and_the_refusal_audited(hs: Homeserver) -> None:
    bob = await hs.register_user("bob")
    for method, path in (
        ("GET", "/_bastion/admin/v1/audit"),
        ("GET", "/_bastion/admin/v1/audit/export"),
        ("POST", "/_bastion/admin/v1/audit/verify"),
    ):
        resp = await (bob.get(path) if method == "GET" else bob.post(path))
        assert errcode(resp) == (403, "M_FORBIDDEN"), path
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, outcome FROM audit_log WHERE action = 'admin.denied'"
    )
    assert len(rows) == 3
    assert all(r[0] == bob.user_id and r[1] == "failure" for r in rows)
    anonymous = await hs.http.get("/_bastion/admin/v1/audit")
    assert errcode(anonymous) == (401, "M_MISSING_TOKEN")


def test_cli_verify_exits_0_then_1_naming_the_record(
    tmp_path: Path,
    database_config: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = cli_config_args(tmp_path, database_config)
    cli_create_user(argv, monkeypatch, "alice")
    capsys.readouterr()
    assert cli.main(["audit", "verify", *argv]) == 0
    assert "intact" in capsys.readouterr().out

    import asyncio

    from bastion.store.opening import open_database

    async def tamper() -> int:
        db = await open_database(database_config.url, schema=database_config.schema)
        try:
            row = await db.fetch_one("SELECT MIN(seq) FROM audit_log")
            assert row is not None
            assert row[0] is not None
            await db.execute("UPDATE audit_log SET action = 'forged' WHERE seq = ?", row[0])
            return int(row[0])
        finally:
            await db.close()

    seq = asyncio.run(tamper())
    assert cli.main(["audit", "verify", *argv]) == 1
    assert f"record {seq}" in capsys.readouterr().out
