"""The console's audit log page (issue #16, "the audit log (filters, CSV/JSONL export, and a
'verify the chain' button with its result)"), in process."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient

DAY_MS = 86_400_000


def _day(ms: int) -> str:
    """The UTC day of a time, as `<input type="date">` sends it."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


async def _record(hs: Homeserver, action: str, target: str) -> int:
    return await hs.runtime.services.audit.record_alone(OPERATOR, action, target, {"n": target})


async def test_filters_and_pages_of_the_audit_log(hs: Homeserver, console: ConsoleClient) -> None:
    """Issue #16: "the audit log (filters, ...)"; issue #13: the log is filtered by actor,
    target, action and time range, and read in pages."""
    for index in range(55):
        await _record(hs, "test.paged", f"t{index:02d}")
    await _record(hs, "test.other", "lonely")

    first = await console.get("/audit", params={"action": "test.paged"})
    assert first.status_code == 200
    assert "<bdi>t00</bdi>" in first.text
    assert "<bdi>t49</bdi>" in first.text
    assert "<bdi>t50</bdi>" not in first.text
    assert "lonely" not in first.text
    [next_link] = [
        line.split('href="', 1)[1].split('"', 1)[0]
        for line in first.text.splitlines()
        if 'rel="next"' in line
    ]
    second = await console.http.get(next_link.replace("&amp;", "&"))
    assert "<bdi>t50</bdi>" in second.text
    assert "<bdi>t54</bdi>" in second.text
    assert "<bdi>t49</bdi>" not in second.text
    assert 'rel="next"' not in second.text

    by_target = await console.get("/audit", params={"target": "lonely", "actor": OPERATOR.audit_id})
    assert "<bdi>lonely</bdi>" in by_target.text
    assert "<bdi>t00</bdi>" not in by_target.text
    today = _day(hs.clock.now_ms())
    hs.clock.advance(DAY_MS / 1000)
    await _record(hs, "test.other", "tomorrow")
    assert (await console.sign_in("root")).status_code == 303  # a day idle ended the session
    on_day = await console.get(
        "/audit", params={"action": "test.other", "since": today, "until": today}
    )
    assert "<bdi>lonely</bdi>" in on_day.text
    assert "<bdi>tomorrow</bdi>" not in on_day.text
    later = await console.get(
        "/audit", params={"action": "test.other", "since": _day(hs.clock.now_ms())}
    )
    assert "<bdi>tomorrow</bdi>" in later.text
    assert "<bdi>lonely</bdi>" not in later.text
    before = await console.get("/audit", params={"action": "test.other", "until": "2000-01-01"})
    assert "No records match." in before.text
    bad = await console.get("/audit", params={"since": "not a day"})
    assert bad.status_code == 400


async def test_export_the_filtered_log_as_csv_and_jsonl(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "CSV/JSONL export"; the export is itself recorded (`audit.export`), as the
    admin API records it."""
    await _record(hs, "test.kept", "a")
    await _record(hs, "test.dropped", "b")

    page = await console.get("/audit", params={"action": "test.kept"})
    assert 'href="/admin/audit/export?format=csv&amp;actor=&amp;target=&amp;action=test.kept' in (
        page.text
    )
    as_csv = await console.get("/audit/export", params={"format": "csv", "action": "test.kept"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["action"], r["target"]) for r in rows] == [("test.kept", "a")]
    as_jsonl = await console.get("/audit/export", params={"format": "jsonl", "action": "test.kept"})
    records = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert [(r["action"], r["details"]["n"]) for r in records] == [("test.kept", "a")]
    exports = await hs.runtime.db.fetch_all(
        "SELECT actor, details FROM audit_log WHERE action = 'audit.export' ORDER BY seq"
    )
    assert [(r[0], json.loads(r[1])["format"]) for r in exports] == [
        ("@root:test.bastion", "csv"),
        ("@root:test.bastion", "jsonl"),
    ]
    assert (await console.get("/audit/export", params={"format": "xml"})).status_code == 400


async def test_verify_the_chain_shows_intact_then_the_tampered_record(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "a 'verify the chain' button with its result"; issue #13: the chain names
    the first record that does not hold (here one whose details were altered)."""
    for target in ("a", "b", "c"):
        await _record(hs, "test.chain", target)

    refused = await console.post("/audit/verify", {"csrf_token": "forged"})
    assert refused.status_code == 403
    intact = await console.post("/audit/verify")
    assert intact.status_code == 200
    assert "The chain is intact" in intact.text
    assert "chain-broken" not in intact.text

    [row] = await hs.runtime.db.fetch_all(
        "SELECT seq FROM audit_log WHERE action = 'test.chain' AND target = 'b'"
    )
    seq = int(row[0])
    await hs.runtime.db.execute(
        "UPDATE audit_log SET details = ? WHERE seq = ?", '{"n":"forged"}', seq
    )
    broken = await console.post("/audit/verify")
    assert broken.status_code == 200
    assert "chain-broken" in broken.text
    assert "The chain is intact" not in broken.text
    assert f"The chain is broken at record {seq}." in broken.text
    assert "the record was altered" in broken.text


async def test_a_malformed_page_link_is_a_readable_400_on_every_listing(
    console: ConsoleClient,
) -> None:
    """A page link whose start is not a whole number (edited or cut short) is refused with the
    error page: showing the first page instead would look like the listing starting over."""
    listings = ("/audit", "/rooms", "/storage", "/compliance/dlp", "/reports")
    for path, name in [(p, "from") for p in listings] + [("/people", "start")]:
        for value in ("ten", "-1", "5x"):
            resp = await console.get(path, params={name: value})
            assert resp.status_code == 400, (path, value)
            assert "A value in the form is not valid." in resp.text
            assert f"{name} must be a whole number" in resp.text
        empty = await console.get(path, params={name: ""})
        assert empty.status_code == 200, path  # an empty start is the first page
