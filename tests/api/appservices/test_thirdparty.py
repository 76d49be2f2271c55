"""Third-party lookups answered by the bridge offering the network (spec:
client-server-api#third-party-networks, application-service-api#third-party-networks): the
`bridge` registration offers `whatsapp`; the fake service answers what a test queues."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.api.appservice_fixtures import HS_TOKEN
from tests.api.appservice_server import FakeAppService
from tests.conftest import Homeserver, errcode

WHATSAPP = {
    "user_fields": ["phone"],
    "location_fields": ["group"],
    "icon": "mxc://example.org/whatsapp",
    "field_types": {
        "phone": {"regexp": "\\+[0-9]+", "placeholder": "+4915112345678"},
        "group": {"regexp": ".+", "placeholder": "group ID"},
    },
    "instances": [
        {"desc": "WhatsApp", "network_id": "whatsapp", "fields": {}},
        {"desc": "WhatsApp Business", "network_id": "business", "fields": {"tier": "b"}},
    ],
}
# protocol.yaml (v1.14): "The instances are modified by the homeserver ... to include an
# `instance_id` to serve as a unique identifier for each instance on the homeserver."
SEEN = WHATSAPP | {
    "instances": [
        {"desc": "WhatsApp", "network_id": "whatsapp", "fields": {},
         "instance_id": "bridge|whatsapp"},
        {"desc": "WhatsApp Business", "network_id": "business", "fields": {"tier": "b"},
         "instance_id": "bridge|business"},
    ]
}  # fmt: skip


def asked(appservice: FakeAppService) -> tuple[str, dict[str, list[str]], str | None]:
    last = appservice.requests[-1]
    url = urlsplit(last.path)
    return url.path, parse_qs(url.query), last.authorization


async def test_protocols_come_from_the_bridge(hs: Homeserver, appservice: FakeAppService) -> None:
    alice = await hs.register_user("alice")
    appservice.answer(200, WHATSAPP)
    resp = await alice.get("/thirdparty/protocols")
    assert (resp.status_code, resp.json()) == (200, {"whatsapp": SEEN})
    assert asked(appservice) == (
        "/_matrix/app/v1/thirdparty/protocol/whatsapp", {}, f"Bearer {HS_TOKEN}"
    )  # fmt: skip
    appservice.answer(200, WHATSAPP)
    resp = await alice.get("/thirdparty/protocol/whatsapp")
    assert resp.json() == SEEN
    # An instance without the `network_id` the application-service API requires is left out.
    appservice.answer(200, WHATSAPP | {"instances": [{"desc": "?", "fields": {}}]})
    assert (await alice.get("/thirdparty/protocol/whatsapp")).json()["instances"] == []
    assert errcode(await alice.get("/thirdparty/protocol/irc")) == (404, "M_NOT_FOUND")


async def test_lookups_pass_the_fields_to_the_bridge(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    alice = await hs.register_user("alice")
    found = [{"userid": "@_bridge_4915112345678:test.bastion", "protocol": "whatsapp",
              "fields": {"phone": "+4915112345678"}}]  # fmt: skip
    appservice.answer(200, found)
    resp = await alice.get("/thirdparty/user/whatsapp", params={"phone": "+4915112345678"})
    assert (resp.status_code, resp.json()) == (200, found)
    assert asked(appservice)[:2] == (
        "/_matrix/app/v1/thirdparty/user/whatsapp", {"phone": ["+4915112345678"]}
    )  # fmt: skip
    appservice.answer(200, [])
    resp = await alice.get("/thirdparty/location/whatsapp", params={"group": "g1"})
    assert (resp.status_code, resp.json()) == (200, [])
    assert errcode(await alice.get("/thirdparty/user/irc")) == (404, "M_NOT_FOUND")
    reverse = [{"alias": "#_bridge_g1:test.bastion", "protocol": "whatsapp", "fields": {}}]
    appservice.answer(200, reverse)
    resp = await alice.get("/thirdparty/location", params={"alias": "#_bridge_g1:test.bastion"})
    assert resp.json() == reverse
    assert asked(appservice)[:2] == (
        "/_matrix/app/v1/thirdparty/location", {"alias": ["#_bridge_g1:test.bastion"]}
    )  # fmt: skip


async def test_a_bridge_that_fails_leaves_an_empty_answer(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    alice = await hs.register_user("alice")
    appservice.answer(500, {"errcode": "M_UNKNOWN"})
    resp = await alice.get("/thirdparty/user/whatsapp", params={"phone": "+1"})
    assert (resp.status_code, resp.json()) == (200, [])
    appservice.answer(200, {"not": "a list"})
    resp = await alice.get("/thirdparty/user", params={"userid": "@_bridge_x:test.bastion"})
    assert (resp.status_code, resp.json()) == (200, [])
    appservice.stop()
    resp = await alice.get("/thirdparty/protocols")
    assert (resp.status_code, resp.json()) == (200, {})
    assert errcode(await alice.get("/thirdparty/protocol/whatsapp")) == (404, "M_NOT_FOUND")
