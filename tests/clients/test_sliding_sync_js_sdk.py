"""Simplified Sliding Sync (MSC4186) judged by an independent client library: matrix-js-sdk.

Our other sliding-sync tests send the requests matrix-rust-sdk sends and check the answers
against what we read in the proposals. Here the client is matrix-js-sdk 43 (its `SlidingSync`
and `SlidingSyncSdk`, what Element Web runs with sliding sync on), unchanged, on `bastion serve`:
it builds its own requests (lists, room subscriptions, the `to_device`, `e2ee`,
`account_data`, `typing` and `receipts` extensions), parses the answers into its room model
(names from `required_state` or the heroes, timelines, `prev_batch` for scrolling back, unread
counts, invite state) and reports what a user would see; with its Rust crypto (vodozemac in
WASM), it encrypts and decrypts over the `e2ee` and `to_device` extensions. The scenarios in
tests/clients/js/ drive it (bob, other js-sdk clients, does what alice must see) and print what
it observed at each step; these tests assert it. On SQLite and on PostgreSQL. Node.js and the
pinned package come from scripts/with-js-sdk (`make test` runs the suite under it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.server import PASSWORD, BastionServer

SCRIPTS = Path(__file__).parent / "js"
RESULT_MARKER = "==== js-sdk session result ===="  # session_kit.mjs prints the result after it
NODE_TIMEOUT_S = 240  # the script bounds itself at 180 s


def node_binary() -> str:
    node = os.environ.get("BASTION_TEST_NODE")
    if not node:
        pytest.skip("BASTION_TEST_NODE is not set (run under scripts/with-js-sdk)")
    return node


def run_session(server: BastionServer, script: str) -> dict[str, Any]:
    """Run the js-sdk scenario `script` (tests/clients/js/) against `server`; what it observed."""
    done = subprocess.run(
        [node_binary(), str(SCRIPTS / script), server.base_url, PASSWORD],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        cwd=SCRIPTS,
        check=False,
    )
    lines = done.stdout.splitlines()
    output = (done.stdout[-4000:], done.stderr[-4000:])
    assert done.returncode == 0, output
    assert RESULT_MARKER in lines, output
    observed: dict[str, Any] = json.loads(lines[lines.index(RESULT_MARKER) + 1])
    return observed


def test_matrix_js_sdk_sliding_sync_session(ss_home: BastionServer) -> None:
    """Every step of the session is seen by the client as a user would see it."""
    alice = ss_home.create_user("alice")
    bob = ss_home.create_user("bob")
    ss_home.start()

    seen = run_session(ss_home, "sliding_sync_session.mjs")

    assert seen["errors"] == []
    ward, direct, pharmacy = (seen["rooms"][k] for k in ("ward", "direct", "pharmacy"))
    first = seen["first"]
    # The first screen: the three rooms, named as a client names them (the direct room has no
    # name: the heroes give bob's), the invite as an invite, the ward's newest message only.
    assert first["count"] == 3
    assert first["names"] == {ward: "Ward 7", direct: "bob", pharmacy: "Pharmacy"}
    assert first["memberships"] == {ward: "join", direct: "join", pharmacy: "invite"}
    assert first["ward_timeline"] == ["m3"]
    # prev_batch is a /messages `from`: scrolling back brings the earlier messages, once each.
    assert seen["scrollback"] == ["m1", "m2", "m3"]
    # Live: the long-poll brings the new message; bob's four messages are unread (the counts
    # /sync gives: alice's own join receipt is older than all of them).
    assert seen["live"] == ["m1", "m2", "m3", "m4"]
    assert seen["unread_after_m4"] == 4
    assert seen["renamed"] == "Ward 7B"
    assert seen["redacted"] == ["m1", "m2", "m3", "<redacted>"]
    # Extensions, each through the SDK's own processing.
    assert seen["typing"] is True
    # alice's own message: the SDK's local echo matched by its transaction ID (shown once).
    assert seen["own_echo"] == ["m1", "m2", "m3", "<redacted>", "a1"]
    assert seen["receipt"] == [bob]
    assert seen["to_device"] == [{"type": "org.example.ping", "sender": bob, "content": {"n": 1}}]
    assert seen["account_data"] == "dark"
    assert seen["tags"] == ["m.favourite"]
    # Memberships change under the client: the invite accepted, the direct room left.
    assert seen["joined"] == "join"
    assert seen["left"] == "leave"
    # The space's hierarchy (/hierarchy, depth first), and a list filtered to its children.
    assert seen["hierarchy"] == [["m.space", "Hospital", 1], [None, "Ward 7B", 0]]
    assert seen["in_space_count"] == 1
    # Mutual rooms (the SDK's MSC2666 call): ward, pharmacy and the space; not the left room.
    assert seen["shared"] == [True, False, True, True]
    # A room upgrade: the tombstone and the invite reach alice, the new room names the old.
    assert seen["upgrade"] is True
    assert seen["predecessor"] is True
    # An OpenID token from the SDK, exchanged for alice's ID as a third party does.
    assert seen["openid"] == ["test.bastion", 200, alice]
    # The list's required_state has no power levels; the room subscription (`*`) brings them.
    assert seen["levels_before"] is False
    assert "m.room.power_levels" in seen["subscribed_state"]
    # Nothing twice: every message once, the to-device message delivered once (acknowledged).
    assert seen["final_timeline"] == ["m1", "m2", "m3", "<redacted>", "a1", "m5"]
    assert seen["to_device_count"] == 1


def test_matrix_js_sdk_encrypted_room_over_sliding_sync(ss_home: BastionServer) -> None:
    """alice (sliding sync) and bob (/v3/sync) read each other's encrypted messages; alice
    learns bob's new device from the e2ee extension, so her next message reaches it."""
    ss_home.create_user("alice")
    ss_home.create_user("bob")
    ss_home.start()

    seen = run_session(ss_home, "encrypted_session.mjs")

    assert seen["errors"] == []
    # The room key reached alice in the to_device extension: she reads bob's message.
    assert seen["alice_reads"] == ["from bob"]
    assert seen["bob_reads"] == ["from bob", "from alice"]
    # device_lists.changed named bob: alice's crypto queried his keys and found the new device,
    # and encrypted for it; the earlier messages were never shared with it (as designed).
    assert seen["alice_knows_bob2"] is True
    assert seen["bob2_reads"] == [
        "<unable to decrypt>",
        "<unable to decrypt>",
        "after the new device",
    ]
