"""matrix-nio receives DLP's refusal as a clear Matrix error (issue #13 §4).

Issue #13: "a matrix-nio client receiving the clear `M_FORBIDDEN` for a blocked message", where
`block` is "403 `M_FORBIDDEN` with a message in the user's language that names the policy and
says what to do instead".
"""

from __future__ import annotations

from nio import RoomCreateResponse, RoomSendError

from tests.clients.nio_fixtures import NioFactory, log_in, nio_request, send_text
from tests.clients.server import BastionServer

POLICY_NAME = "No payment cards in chat"


async def test_a_blocked_message_reaches_nio_as_m_forbidden_naming_the_policy(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    bastion_server.create_user("root", admin=True)
    bastion_server.create_user("alice")
    root, alice = nio_client("root"), nio_client("alice")
    await log_in(root, "root's nio")
    await log_in(alice, "alice's nio")
    policy = {"name": POLICY_NAME, "detectors": ["payment_card"], "action": "block"}
    status, body = await nio_request(
        root, "PUT", "/_bastion/admin/v1/policy", {"dlp": {"policies": [policy]}}
    )
    assert status == 200, body
    created = await alice.room_create()
    assert isinstance(created, RoomCreateResponse), created

    refused = await alice.room_send(
        created.room_id, "m.room.message", {"msgtype": "m.text", "body": "4111 1111 1111 1111"}
    )
    assert isinstance(refused, RoomSendError), refused
    assert refused.status_code == "M_FORBIDDEN"
    assert POLICY_NAME in refused.message
    assert "send again" in refused.message
    # A number failing the Luhn check is no card: it goes through.
    await send_text(alice, created.room_id, "order 4111 1111 1111 1112")
