"""End-to-end encryption on /v3/sync judged by matrix-js-sdk's Rust crypto (vodozemac in WASM),
an implementation independent of ours and of matrix-nio's: cross-signing keys uploaded through
User-Interactive Auth, the server-side key backup (`/room_keys`) restoring a room key on a new
device, and emoji verification (SAS over to-device messages) after which the new device is
signed by the user's self-signing key (`/keys/signatures/upload`) and seen so by another user.
tests/clients/js/device_trust_session.mjs drives it; on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.clients.server import BastionServer
from tests.clients.test_sliding_sync_js_sdk import run_session


def test_backup_restore_and_emoji_verification_of_a_new_device(ss_home: BastionServer) -> None:
    ss_home.create_user("alice")
    ss_home.create_user("bob")
    ss_home.start()

    seen = run_session(ss_home, "device_trust_session.mjs")

    assert seen["errors"] == []
    assert seen["first_reads"] == ["lab results"]
    assert seen["backed_up"] is True
    # The new device cannot read what was sent before it existed, until it restores the backup.
    assert seen["second_before"] == ["<unable to decrypt>"]
    assert seen["restored"] == 1
    assert seen["second_after"] == ["lab results"]
    # Verified by comparing the same emoji on both devices: trusted, and signed for others too.
    assert seen["trusted_before"] is False
    assert seen["same_emoji"] is True
    assert seen["trusted_after"] is True
    assert seen["bob_sees_signed"] is True
