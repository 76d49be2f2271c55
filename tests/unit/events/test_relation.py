"""Reading `m.relates_to`: which relationships the server tracks."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.events.relation import Relation, is_edit, is_tracked, relation_of


@pytest.mark.parametrize(
    ("relates_to", "expected"),
    [
        ({"rel_type": "m.thread", "event_id": "$root"}, Relation("m.thread", "$root")),
        (
            {"rel_type": "m.annotation", "event_id": "$e", "key": "👍"},
            Relation("m.annotation", "$e", "👍"),
        ),
        ({"rel_type": "m.reference", "event_id": "$e", "key": "k"}, Relation("m.reference", "$e")),
        ({"rel_type": "m.annotation", "event_id": "$e", "key": 1}, Relation("m.annotation", "$e")),
        ({"m.in_reply_to": {"event_id": "$e"}}, None),  # a rich reply is not a relationship
        ({"rel_type": "m.thread"}, None),
        ({"rel_type": "", "event_id": "$e"}, None),
        ({"rel_type": "m.thread", "event_id": "not-an-event-id"}, None),
        ({"rel_type": 5, "event_id": "$e"}, None),
        ("m.thread", None),
    ],
)
def test_relation_of(relates_to: Any, expected: Relation | None) -> None:
    assert relation_of({"m.relates_to": relates_to}) == expected
    assert relation_of({}) is None


def test_only_well_formed_edits_are_tracked() -> None:
    edit = Relation("m.replace", "$e")
    new_content = {"m.new_content": {"body": "x"}}
    assert is_tracked(edit, state_key=None, content=new_content)
    assert not is_tracked(edit, state_key=None, content={"body": "x"})
    assert not is_tracked(edit, state_key="", content=new_content)
    assert is_tracked(Relation("m.thread", "$e"), state_key="", content={})


def test_is_edit() -> None:
    assert is_edit({"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}})
    assert not is_edit({"m.relates_to": {"rel_type": "m.thread", "event_id": "$e"}})
    assert not is_edit({})
