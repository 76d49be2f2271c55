"""DLP's four actions through the client API (issue #13 §4).

"Actions: `block` (403 `M_FORBIDDEN` with a message in the user's language that names the
policy and says what to do instead), `redact` (the matched text replaced before storing), `warn`
(stored, the sender gets a server notice), `flag` (stored, a review entry in the compliance
queue). Every hit is audited without storing the matched secret itself."
"""

from __future__ import annotations

from tests.api.compliance.dlp_helpers import (
    BAD_LUHN_CARD,
    CARD,
    CARD_ARABIC,
    IBAN,
    REVIEWS,
    audit_text,
    content_of,
    dlp_audit,
    dlp_policy,
    send_message,
    set_dlp,
    text,
)
from tests.api.scim.scim_helpers import GROUP, Scim, scim_token
from tests.conftest import Homeserver, errcode

SCIM_PASSWORD = "a long enough password 42"


async def test_block_refuses_with_403_naming_the_policy_and_audits_without_the_number(
    hs: Homeserver,
) -> None:
    """A card number (Latin or Arabic-Indic digits) is refused; one failing Luhn is not."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_dlp(admin, dlp_policy("No card numbers", "block", "payment_card"))

    for body in (f"my card is {CARD}", f"بطاقتي {CARD_ARABIC}"):
        refused = await text(alice, room, body)
        assert errcode(refused) == (403, "M_FORBIDDEN")
        assert "No card numbers" in refused.json()["error"]
        assert "Remove it and send again" in refused.json()["error"]
    assert (await text(alice, room, f"not a card {BAD_LUHN_CARD}")).status_code == 200

    records = await dlp_audit(hs)
    assert [(a, actor, target) for a, actor, target, _ in records] == [
        ("dlp.block", alice.user_id, room), ("dlp.block", alice.user_id, room),
    ]  # fmt: skip
    details = records[0][3]
    assert details["policy"] == "No card numbers"
    assert details["detectors"] == ["payment_card"]
    assert details["event_type"] == "m.room.message"
    logged = await audit_text(hs)
    assert "4111" not in logged
    assert "٤١١١" not in logged


async def test_block_answers_in_the_organisation_language(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_dlp(admin, dlp_policy("بيانات البطاقات", "block", "payment_card"), language="ar")
    refused = await text(alice, room, CARD)
    assert errcode(refused) == (403, "M_FORBIDDEN")
    message = refused.json()["error"]
    assert "بيانات البطاقات" in message
    assert "رقم بطاقة دفع" in message  # what it found, in Arabic
    assert "Remove it and send again" in message  # and in English after it

    await set_dlp(admin, dlp_policy("Karty", "block", "payment_card"), language="pl")
    message = (await text(alice, room, CARD)).json()["error"]
    assert "Karty" in message
    assert "numer karty płatniczej" in message


async def test_redact_replaces_the_match_in_messages_edits_and_topics(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_dlp(admin, dlp_policy("Hide IBANs", "redact", "iban"))

    sent = await text(alice, room, f"pay to {IBAN} today")
    assert sent.status_code == 200, sent.text
    assert (await content_of(alice, room, sent.json()["event_id"]))["body"] == (
        "pay to [redacted] today"
    )
    edit = {
        "msgtype": "m.text",
        "body": f"* pay to {IBAN}",
        "m.new_content": {"msgtype": "m.text", "body": f"pay to {IBAN}"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": sent.json()["event_id"]},
    }
    edited = await send_message(alice, room, edit)
    assert edited.status_code == 200, edited.text
    stored = await content_of(alice, room, edited.json()["event_id"])
    assert stored["body"] == "* pay to [redacted]"
    assert stored["m.new_content"]["body"] == "pay to [redacted]"
    topic = await alice.put(f"/rooms/{room}/state/m.room.topic/", json={"topic": f"IBAN {IBAN}"})
    assert topic.status_code == 200, topic.text
    state = await alice.get(f"/rooms/{room}/state/m.room.topic/")
    assert state.json()["topic"] == "IBAN [redacted]"

    assert [r[0] for r in await dlp_audit(hs)] == ["dlp.redact"] * 3
    assert "1090 1014" not in await audit_text(hs)


async def test_warn_stores_the_message_and_sends_a_server_notice(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_dlp(admin, dlp_policy("Careful with PESEL", "warn", "pesel"))

    sent = await text(alice, room, "PESEL 44051401359")
    assert sent.status_code == 200, sent.text
    event_id = sent.json()["event_id"]
    assert (await content_of(alice, room, event_id))["body"] == "PESEL 44051401359"
    [(action, actor, target, details)] = await dlp_audit(hs)
    assert (action, actor, target) == ("dlp.warn", alice.user_id, room)
    assert details["event_id"] == event_id

    invites = (await alice.sync()).get("rooms", {}).get("invite", {})
    [notice_room] = list(invites)
    await alice.join(notice_room)
    page = await alice.get(f"/rooms/{notice_room}/messages", params={"dir": "b", "limit": "10"})
    bodies = [e["content"].get("body", "") for e in page.json()["chunk"]]
    assert any("Careful with PESEL" in b for b in bodies), bodies
    assert not any("44051401359" in b for b in bodies)


async def test_flag_stores_the_message_and_queues_a_review(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    mrn = {"type": "medical_record", "pattern": r"MRN-\d{7}"}
    await set_dlp(admin, dlp_policy("Patient records", "flag", mrn, "email"))

    sent = await text(alice, room, "MRN-١٢٣٤٥٦٧ for dr.nowak@example.pl")
    assert sent.status_code == 200, sent.text
    event_id = sent.json()["event_id"]
    assert "MRN-١٢٣٤٥٦٧" in (await content_of(alice, room, event_id))["body"]

    listed = await admin.get(REVIEWS)
    assert listed.status_code == 200, listed.text
    [entry] = listed.json()["entries"]
    assert listed.json()["next"] is None
    assert (entry["event_id"], entry["room_id"], entry["sender"]) == (event_id, room, alice.user_id)
    assert (entry["policy"], entry["status"]) == ("Patient records", "open")
    assert entry["detectors"] == ["email", "medical_record"]
    assert [r[0] for r in await dlp_audit(hs)] == ["dlp.flag"]
    assert "1234567" not in await audit_text(hs)
    assert "١٢٣٤٥٦٧" not in await audit_text(hs)


async def test_encrypted_rooms_are_untouched(hs: Homeserver) -> None:
    """DLP applies "in an unencrypted room": the server does not judge an encrypted room."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    encrypted = await alice.create_room(
        initial_state=[
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        ]
    )
    await set_dlp(
        admin,
        dlp_policy("No cards", "block", "payment_card"),
        dlp_policy("Hide IBANs", "redact", "iban"),
        dlp_policy("Flag mail", "flag", "email"),
    )
    assert (await text(alice, encrypted, f"card {CARD}")).status_code == 200
    sent = await text(alice, encrypted, f"{IBAN} a@example.com")
    assert (await content_of(alice, encrypted, sent.json()["event_id"]))["body"] == (
        f"{IBAN} a@example.com"
    )
    assert (await admin.get(REVIEWS)).json()["entries"] == []
    assert await dlp_audit(hs) == []


async def test_scope_limits_policies_to_rooms_and_users(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    finance = await alice.create_room(preset="public_chat")
    other = await alice.create_room(preset="public_chat")
    await bob.join(finance)
    await bob.join(other)
    await set_dlp(
        admin,
        dlp_policy("Finance room", "block", "payment_card", rooms=[finance]),
        dlp_policy("Bob only", "block", "iban", users=[bob.user_id]),
    )
    assert errcode(await text(alice, finance, CARD)) == (403, "M_FORBIDDEN")
    assert (await text(alice, other, CARD)).status_code == 200
    assert (await text(alice, other, IBAN)).status_code == 200
    assert errcode(await text(bob, other, IBAN)) == (403, "M_FORBIDDEN")


async def test_scope_by_scim_group_applies_to_its_members_only(hs: Homeserver) -> None:
    """`"scope": {"groups": [...]}`: the policy applies to members of those SCIM groups."""
    admin = await hs.register_user("root", admin=True)
    scim = Scim(hs, await scim_token(hs))
    for name in ("ann", "ben"):
        await scim.create_user(name, password=SCIM_PASSWORD)
    made = await scim.request(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Finance",
                            "members": [{"value": "ann"}]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    ann, ben = await hs.login("ann", SCIM_PASSWORD), await hs.login("ben", SCIM_PASSWORD)
    room = await ann.create_room(preset="public_chat")
    await ben.join(room)
    await set_dlp(admin, dlp_policy("Finance staff", "block", "iban", groups=[made.json()["id"]]))
    assert errcode(await text(ann, room, IBAN)) == (403, "M_FORBIDDEN")
    assert (await text(ben, room, IBAN)).status_code == 200


async def test_create_room_name_and_topic_are_checked(hs: Homeserver) -> None:
    """A room's name and topic given to createRoom go through the same hook."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await set_dlp(admin, dlp_policy("No cards", "block", "payment_card"))
    refused = await alice.post("/createRoom", json={"name": f"card {CARD}"})
    assert errcode(refused) == (403, "M_FORBIDDEN")
    await set_dlp(admin, dlp_policy("Hide cards", "redact", "payment_card"))
    room = await alice.create_room(topic=f"pay with {CARD}")
    topic = await alice.get(f"/rooms/{room}/state/m.room.topic/")
    assert topic.json()["topic"] == "pay with [redacted]"
