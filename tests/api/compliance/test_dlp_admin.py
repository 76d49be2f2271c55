"""DLP for admins: the policy section's save-time checks, the review queue and "try a text".

Issue #13: "`dlp.policies[]`: `{"name", "detectors": [...], "action": ..., "scope": {...}}`
(empty scope: everywhere) ... Review queue: `GET /_bastion/admin/v1/dlp/reviews`." The brief:
"regexes (... compile at policy-save time, refuse invalid ones with 400 ...)" and
"`POST /_bastion/admin/v1/dlp/test` (`{"text"}` → what each detector/policy finds)".
"""

from __future__ import annotations

from tests.api.compliance.dlp_helpers import (
    CARD,
    IBAN,
    POLICY,
    REVIEWS,
    TEST,
    dlp_policy,
    set_dlp,
    text,
)
from tests.conftest import Homeserver, errcode


async def test_invalid_or_catastrophic_patterns_are_refused_when_saved(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    for pattern in ("(unclosed", "(a+)+$"):
        policy = dlp_policy("MRN", "flag", {"type": "regex", "pattern": pattern})
        resp = await admin.put(POLICY, json={"dlp": {"policies": [policy]}})
        assert errcode(resp) == (400, "M_INVALID_PARAM")
        assert "MRN" in resp.json()["error"]
    unknown = dlp_policy("x", "block", "passport")
    assert (await admin.put(POLICY, json={"dlp": {"policies": [unknown]}})).status_code == 400
    # The document reads back as written, detector objects with their type.
    mrn = {"type": "medical_record", "pattern": r"MRN-\d{7}"}
    await set_dlp(admin, dlp_policy("Records", "flag", "pesel", mrn, rooms=["!r:x"]))
    dlp = (await admin.get(POLICY)).json()["dlp"]
    assert dlp["policies"] == [
        {"name": "Records", "detectors": ["pesel", mrn], "action": "flag",
         "scope": {"rooms": ["!r:x"], "users": [], "groups": []}},
    ]  # fmt: skip


async def test_reviews_are_listed_paged_and_resolved_once(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_dlp(admin, dlp_policy("Flag IBANs", "flag", "iban"))
    for _ in range(3):
        assert (await text(alice, room, IBAN)).status_code == 200

    first = (await admin.get(REVIEWS, params={"limit": "2"})).json()
    assert len(first["entries"]) == 2
    rest = (await admin.get(REVIEWS, params={"limit": "2", "from": first["next"]})).json()
    assert len(rest["entries"]) == 1
    assert rest["next"] is None
    review_id = first["entries"][0]["review_id"]

    resolve = f"{REVIEWS}/{review_id}/resolve"
    assert errcode(await alice.post(resolve, json={"resolution": "x"}))[0] == 403
    done = await admin.post(resolve, json={"resolution": "false positive"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["resolution"]) == ("resolved", "false positive")
    assert done.json()["resolved_by"] == admin.user_id
    assert errcode(await admin.post(resolve, json={"resolution": "again"}))[0] == 409
    assert errcode(await admin.post(f"{REVIEWS}/99999/resolve", json={"resolution": "x"})) == (
        404, "M_NOT_FOUND",
    )  # fmt: skip

    open_ids = [e["review_id"] for e in (await admin.get(REVIEWS)).json()["entries"]]
    assert review_id not in open_ids
    assert len(open_ids) == 2
    resolved = (await admin.get(REVIEWS, params={"status": "resolved"})).json()["entries"]
    assert [e["review_id"] for e in resolved] == [review_id]
    assert len((await admin.get(REVIEWS, params={"status": "all"})).json()["entries"]) == 3
    rows = await hs.runtime.db.fetch_all(
        "SELECT outcome FROM audit_log WHERE action = 'dlp.review.resolve' ORDER BY seq"
    )
    assert [r[0] for r in rows] == ["success", "failure", "failure"]


async def test_try_a_text_shows_what_each_policy_and_detector_finds(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await set_dlp(
        admin,
        dlp_policy("Cards", "block", "payment_card"),
        dlp_policy("Words", "warn", {"type": "keywords", "words": ["falcon"]}),
    )
    sample = f"Falcon: {CARD}, PESEL ٤٤٠٥١٤٠١٣٥٩"
    resp = await admin.post(TEST, json={"text": sample})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    policies = {p["name"]: p for p in body["policies"]}
    assert [f["match"] for f in policies["Cards"]["findings"]] == [CARD]
    assert policies["Cards"]["action"] == "block"
    assert [f["match"] for f in policies["Words"]["findings"]] == ["Falcon"]
    assert [f["match"] for f in body["detectors"]["pesel"]] == ["٤٤٠٥١٤٠١٣٥٩"]
    assert body["detectors"]["iban"] == []
    assert errcode(await alice.post(TEST, json={"text": "x"}))[0] == 403
    assert (await admin.post(TEST, json={})).status_code == 400
    too_long = await admin.post(TEST, json={"text": "x" * 70_000})
    assert errcode(too_long) == (400, "M_INVALID_PARAM")


async def test_bad_review_parameters_are_refused(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    assert errcode(await admin.get(REVIEWS, params={"status": "closed"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    assert errcode(await admin.get(REVIEWS, params={"limit": "0"}))[0] == 400
    resolve = await admin.post(f"{REVIEWS}/abc/resolve", json={"resolution": "x"})
    assert errcode(resolve) == (404, "M_NOT_FOUND")
    assert (await admin.post(f"{REVIEWS}/1/resolve", json={})).status_code == 400
