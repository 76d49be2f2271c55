"""Extended profile fields (spec v1.16) judged by matrix-js-sdk: it finds them advertised
(`uk.tcpip.msc4133.stable`), uses the stable `/v3` prefix, and reads and writes fields with its
own calls (`setExtendedProfileProperty`, `getExtendedProfile`, `getExtendedProfileProperty`,
`deleteExtendedProfileProperty`), the ones Element Web uses for a user's time zone.
tests/clients/js/profile_session.mjs drives it; on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.clients.server import BastionServer
from tests.clients.test_sliding_sync_js_sdk import run_session


def test_js_sdk_sets_reads_and_deletes_profile_fields(ss_home: BastionServer) -> None:
    alice = ss_home.create_user("alice")
    ss_home.create_user("bob")
    ss_home.start()

    seen = run_session(ss_home, "profile_session.mjs")

    assert seen["errors"] == []
    assert seen["supported"] is True
    assert seen["prefix"] == "/_matrix/client/v3"
    assert seen["tz"] == "Europe/Warsaw"
    title = {"en": "Ward nurse", "pl": "Pielęgniarka"}
    assert seen["whole"] == {
        "displayname": alice.split(":")[0][1:],
        "m.tz": "Europe/Warsaw",
        "org.example.job_title": title,
    }
    assert seen["title_after_delete"] is None
    assert seen["bad_key"] == "400 M_INVALID_PARAM"
