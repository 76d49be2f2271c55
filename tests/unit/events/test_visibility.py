"""History visibility (spec: client-server-api#room-history-visibility, "Server behaviour")."""

from __future__ import annotations

import pytest

from bastion.events.visibility import Timeline, ViewerHistory, is_visible

VIEWER = "@viewer:example.org"
OTHER = "@other:example.org"
HV = "m.room.history_visibility"
MEMBER = "m.room.member"


def history(memberships: Timeline, visibility: str | Timeline = "shared") -> ViewerHistory:
    """Visibility set at position 1 (a string) or as a full timeline."""
    visibilities = [(1, visibility)] if isinstance(visibility, str) else visibility
    return ViewerHistory(memberships=memberships, visibilities=visibilities)


def sees_message(h: ViewerHistory, position: int) -> bool:
    return is_visible(h, position, event_type="m.room.message", state_key=None, viewer=VIEWER)


def sees_state(h: ViewerHistory, position: int, event_type: str, state_key: str) -> bool:
    return is_visible(h, position, event_type=event_type, state_key=state_key, viewer=VIEWER)


# --- ViewerHistory lookups -----------------------------------------------------------------------


def test_membership_before_is_the_state_before_the_position() -> None:
    h = history([(5, "invite"), (10, "join"), (20, "leave")])
    assert h.membership_before(5) == "leave"  # the default: never a member
    assert h.membership_before(6) == "invite"
    assert h.membership_before(10) == "invite"
    assert h.membership_before(11) == "join"
    assert h.membership_before(100) == "leave"


def test_visibility_before_defaults_to_shared() -> None:
    h = history([], [(10, "joined")])
    assert h.visibility_before(10) == "shared"
    assert h.visibility_before(11) == "joined"


def test_joined_at_or_after() -> None:
    h = history([(5, "join"), (10, "leave"), (15, "join")])
    assert h.joined_at_or_after(15)
    assert h.joined_at_or_after(12)
    assert not h.joined_at_or_after(16)
    assert not history([(5, "invite")]).joined_at_or_after(1)


# --- rule 1: world_readable ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "memberships",
    [[], [(2, "invite")], [(2, "join"), (3, "leave")], [(2, "ban")]],
    ids=["never-member", "invited", "left", "banned"],
)
def test_world_readable_visible_to_anyone(memberships: Timeline) -> None:
    assert sees_message(history(memberships, "world_readable"), 10)


def test_world_readable_only_while_set() -> None:
    h = history([], [(1, "world_readable"), (20, "joined")])
    assert sees_message(h, 10)
    assert not sees_message(h, 30)


# --- rule 2: joined members ----------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["shared", "invited", "joined", "world_readable"])
def test_joined_member_sees_events(visibility: str) -> None:
    assert sees_message(history([(5, "join")], visibility), 10)


# --- rule 3: shared ------------------------------------------------------------------------------


def test_shared_visible_when_viewer_joins_after_the_event() -> None:
    assert sees_message(history([(20, "join")], "shared"), 10)


def test_shared_visible_when_viewer_was_invited_then_joins_later() -> None:
    assert sees_message(history([(5, "invite"), (20, "join")], "shared"), 10)


def test_shared_hidden_when_viewer_never_joins() -> None:
    assert not sees_message(history([], "shared"), 10)
    assert not sees_message(history([(5, "invite")], "shared"), 10)


def test_shared_hidden_when_viewer_left_before_the_event() -> None:
    h = history([(2, "join"), (5, "leave")], "shared")
    assert sees_message(h, 4)
    assert not sees_message(h, 10)


def test_shared_visible_in_gap_when_viewer_rejoins() -> None:
    h = history([(2, "join"), (5, "leave"), (20, "join")], "shared")
    assert sees_message(h, 10)


def test_no_visibility_event_means_shared() -> None:
    h = history([(20, "join")], [])
    assert sees_message(h, 10)
    assert not sees_message(history([], []), 10)


# --- rule 4: invited -----------------------------------------------------------------------------


def test_invited_visible_while_invited() -> None:
    h = history([(5, "invite")], "invited")
    assert sees_message(h, 10)


def test_invited_hidden_before_invite() -> None:
    h = history([(5, "invite"), (20, "join")], "invited")
    assert not sees_message(h, 3)
    assert sees_message(h, 10)
    assert sees_message(h, 30)


def test_invited_hidden_after_rejecting_invite() -> None:
    h = history([(5, "invite"), (8, "leave")], "invited")
    assert sees_message(h, 6)
    assert not sees_message(h, 10)


def test_invited_does_not_count_knock() -> None:
    assert not sees_message(history([(5, "knock")], "invited"), 10)


# --- joined --------------------------------------------------------------------------------------


def test_joined_hidden_before_join() -> None:
    h = history([(5, "invite"), (15, "join")], "joined")
    assert not sees_message(h, 3)
    assert not sees_message(h, 10)  # invited is not enough
    assert sees_message(h, 20)


def test_joined_hidden_to_never_member() -> None:
    assert not sees_message(history([], "joined"), 10)


# --- leaving -------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["shared", "invited", "joined"])
@pytest.mark.parametrize("left_as", ["leave", "ban"])
def test_viewer_who_left_sees_nothing_after_leaving(visibility: str, left_as: str) -> None:
    h = history([(2, "join"), (10, left_as)], visibility)
    assert sees_message(h, 5)
    assert not sees_message(h, 11)
    assert not sees_message(h, 50)


def test_viewer_who_left_still_sees_world_readable_events() -> None:
    h = history([(2, "join"), (10, "leave")], "world_readable")
    assert sees_message(h, 50)


# --- changes of visibility apply from the event on -----------------------------------------------


def test_visibility_applies_at_the_time_of_the_event() -> None:
    """The setting at the event counts, not the current one."""
    h = history([(30, "join")], [(1, "joined"), (20, "shared")])
    assert not sees_message(h, 10)
    assert sees_message(h, 25)


# --- special case: history_visibility events -----------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [("world_readable", "joined"), ("joined", "world_readable")],
)
def test_history_visibility_event_visible_if_before_or_after_allows(
    before: str, after: str
) -> None:
    h = history([], [(1, before), (10, after)])
    assert sees_state(h, 10, HV, "")


@pytest.mark.parametrize(("before", "after"), [("joined", "shared"), ("joined", "invited")])
def test_history_visibility_event_hidden_if_neither_allows(before: str, after: str) -> None:
    h = history([], [(1, before), (10, after)])
    assert not sees_state(h, 10, HV, "")


def test_history_visibility_special_case_needs_empty_state_key() -> None:
    h = history([], [(1, "joined"), (10, "world_readable")])
    assert not sees_state(h, 10, HV, "not-empty")


def test_other_events_do_not_use_the_after_setting() -> None:
    h = history([], [(1, "joined"), (10, "world_readable")])
    assert not sees_state(h, 10, "m.room.topic", "")


# --- special case: the viewer's own member events ------------------------------------------------


def test_own_join_visible_under_joined() -> None:
    h = history([(10, "join")], "joined")
    assert sees_state(h, 10, MEMBER, VIEWER)
    assert not sees_message(h, 10)


def test_someone_elses_join_not_visible_through_the_special_case() -> None:
    h = history([(10, "join")], "joined")
    assert not sees_state(h, 10, MEMBER, OTHER)


@pytest.mark.parametrize("leaving", ["leave", "ban"])
def test_own_leave_visible_under_joined(leaving: str) -> None:
    h = history([(5, "join"), (10, leaving)], "joined")
    assert sees_state(h, 10, MEMBER, VIEWER)
    assert not sees_state(h, 11, MEMBER, OTHER)


def test_own_invite_visible_under_invited() -> None:
    h = history([(10, "invite")], "invited")
    assert sees_state(h, 10, MEMBER, VIEWER)
    assert not sees_state(h, 10, MEMBER, OTHER)


def test_own_invite_hidden_under_joined_without_later_join() -> None:
    h = history([(10, "invite")], "joined")
    assert not sees_state(h, 10, MEMBER, VIEWER)


def test_own_rejected_invite_visible_under_invited() -> None:
    h = history([(5, "invite"), (10, "leave")], "invited")
    assert sees_state(h, 10, MEMBER, VIEWER)


# --- unknown visibility --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["bogus", "", "WORLD_READABLE"])
def test_unknown_visibility_is_treated_as_shared(value: str) -> None:
    assert sees_message(history([(20, "join")], value), 10)
    assert not sees_message(history([], value), 10)
    assert not sees_message(history([(2, "join"), (5, "leave")], value), 10)


def test_the_viewers_own_leave_or_ban_is_always_visible_to_them() -> None:
    """Synapse's rule: a member event that ends the viewer's join or invite is visible to the
    viewer whatever else holds (here a forgotten room: no membership timeline at all, history
    for members only), so a client sees the room go; anyone else's is not."""
    forgotten = history([], "joined")
    for ends in (True, False):
        mine = is_visible(forgotten, 20, event_type=MEMBER, state_key=VIEWER, viewer=VIEWER,
                          ends_membership=ends)  # fmt: skip
        assert mine is ends
        theirs = is_visible(forgotten, 20, event_type=MEMBER, state_key=OTHER, viewer=VIEWER,
                            ends_membership=ends)  # fmt: skip
        assert theirs is False
    assert not is_visible(forgotten, 20, event_type="m.room.message", state_key=None,
                          viewer=VIEWER, ends_membership=True)  # fmt: skip
