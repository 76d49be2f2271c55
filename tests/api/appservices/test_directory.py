"""Application services' published room directories.

spec: client-server-api#put_matrixclientv3directorylistappservicenetworkidroomid: "Updates the
visibility of a given room in the application service's published room directory ... This API
requires the use of an application service access token (`as_token`) ... This API cannot be
invoked by users who are not identified as application services."
/publicRooms `third_party_instance_id`: "The specific third-party network/protocol to request
from the homeserver. Can only be used if `include_all_networks` is false. This is the
`instance_id` of a `Protocol Instance` returned by GET /thirdparty/protocols";
`include_all_networks`: "Whether or not to include all known networks/protocols from
application services on the homeserver."
"""

from __future__ import annotations

from tests.api.appservice_fixtures import OPS_TOKEN, ActingService
from tests.api.appservice_server import FakeAppService
from tests.conftest import Homeserver, errcode

NETWORK = "/directory/list/appservice/whatsapp"


async def listed(user: object, **body: object) -> list[str]:
    resp = await user.post("/publicRooms", json=body)  # type: ignore[attr-defined]
    assert resp.status_code == 200, resp.text
    return [room["room_id"] for room in resp.json()["chunk"]]


async def test_a_bridge_lists_rooms_of_its_network(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    alice = await hs.register_user("alice")
    bridge = ActingService(hs.http)
    portal = await alice.create_room(name="WhatsApp: family group")
    lobby = await alice.create_room(name="Lobby", visibility="public")

    resp = await bridge.request("PUT", f"{NETWORK}/{portal}", json={"visibility": "public"})
    assert (resp.status_code, resp.json()) == (200, {})
    # The server's directory is unchanged; the network's instance shows the portal.
    assert await listed(alice) == [lobby]
    assert (await alice.get(f"/directory/list/room/{portal}")).json() == {"visibility": "private"}
    assert await listed(alice, third_party_instance_id="bridge|whatsapp") == [portal]
    assert await listed(alice, third_party_instance_id="bridge|signal") == []
    assert await listed(alice, third_party_instance_id="ops|whatsapp") == []
    assert sorted(await listed(alice, include_all_networks=True)) == sorted([portal, lobby])
    # include_all_networks wins over an instance ID (Synapse does the same).
    both = await listed(alice, include_all_networks=True, third_party_instance_id="bridge|x")
    assert sorted(both) == sorted([portal, lobby])
    assert await listed(alice, third_party_instance_id="whatsapp") == []  # not an instance ID

    resp = await bridge.request("PUT", f"{NETWORK}/{portal}", json={"visibility": "private"})
    assert resp.status_code == 200, resp.text
    assert await listed(alice, third_party_instance_id="bridge|whatsapp") == []


async def test_only_an_application_service_lists_in_a_network(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    alice = await hs.register_user("alice")
    room = await alice.create_room(name="Mine")
    # A person's token, even the room's creator's: refused.
    resp = await alice.put(f"{NETWORK}/{room}", json={"visibility": "public"})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    bridge = ActingService(hs.http)
    missing = await bridge.request(
        "PUT", f"{NETWORK}/!nowhere:test.bastion", json={"visibility": "public"}
    )
    assert errcode(missing) == (404, "M_NOT_FOUND")
    no_body = await bridge.request("PUT", f"{NETWORK}/{room}", json={})
    assert errcode(no_body) == (400, "M_BAD_JSON")
    odd = await bridge.request("PUT", f"{NETWORK}/{room}", json={"visibility": "secret"})
    assert errcode(odd) == (400, "M_BAD_JSON")
    # Another service lists under its own ID: not in the bridge's instance.
    ops = ActingService(hs.http, OPS_TOKEN)
    resp = await ops.request("PUT", f"{NETWORK}/{room}", json={"visibility": "public"})
    assert resp.status_code == 200, resp.text
    assert await listed(alice, third_party_instance_id="bridge|whatsapp") == []
    assert await listed(alice, third_party_instance_id="ops|whatsapp") == [room]
