"""Principals: how each kind is named for the audit log, and who may do admin things."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bastion.errors import Errcode, MatrixError
from bastion.services.principal import (
    ActorKind,
    AppService,
    Operator,
    Principal,
    Requester,
    ScimClient,
    ServerActor,
    log_admin_action,
    require_self_or_admin,
)

ALICE = "@alice:example.org"
ALICE_PHONE = Requester(ALICE, "PHONE", is_admin=False)
ADMIN_LAPTOP = Requester("@root:example.org", "LAPTOP", is_admin=True)
OKTA = ScimClient("okta")
BRIDGE = AppService("irc-bridge")
OFFBOARDING = ServerActor("offboarding")
ROOT = Operator("root")

ADMINS: list[Principal] = [ADMIN_LAPTOP, OFFBOARDING, ROOT, Operator()]
NOT_ADMINS: list[Principal] = [ALICE_PHONE, OKTA, BRIDGE]


@pytest.mark.parametrize(
    ("actor", "kind", "audit_name"),
    [
        (ALICE_PHONE, ActorKind.USER, "@alice:example.org device PHONE"),
        (OKTA, ActorKind.SCIM_CLIENT, "SCIM client okta"),
        (BRIDGE, ActorKind.APP_SERVICE, "application service irc-bridge"),
        (OFFBOARDING, ActorKind.SERVER, "server (offboarding)"),
        (ROOT, ActorKind.OPERATOR, "operator root"),
        (Operator(), ActorKind.OPERATOR, "operator cli"),
    ],
)
def test_each_kind_names_itself_for_the_audit_log(
    actor: Principal, kind: ActorKind, audit_name: str
) -> None:
    assert actor.kind is kind
    assert actor.audit_name == audit_name


def test_principals_are_frozen_values() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ALICE_PHONE.is_admin = True  # type: ignore[misc]  # the point: it cannot be assigned
    assert Requester(ALICE, "PHONE", is_admin=False) == ALICE_PHONE
    assert ScimClient("okta") != ScimClient("entra")
    assert ServerActor("moderation") != ServerActor("offboarding")


@pytest.mark.parametrize("actor", ADMINS, ids=lambda a: a.audit_name)
def test_admins_pass_the_admin_check(actor: Principal) -> None:
    actor.require_admin()
    require_self_or_admin(actor, ALICE)


@pytest.mark.parametrize("actor", NOT_ADMINS, ids=lambda a: a.audit_name)
def test_others_are_refused_admin_power(actor: Principal) -> None:
    with pytest.raises(MatrixError) as refused:
        actor.require_admin()
    assert (refused.value.status, refused.value.errcode) == (403, Errcode.FORBIDDEN)


def test_a_user_device_may_act_on_its_own_account_only() -> None:
    require_self_or_admin(ALICE_PHONE, ALICE)
    for actor, user_id in ((ALICE_PHONE, "@bob:example.org"), (OKTA, ALICE), (BRIDGE, ALICE)):
        with pytest.raises(MatrixError) as refused:
            require_self_or_admin(actor, user_id)
        assert refused.value.errcode == Errcode.FORBIDDEN


def test_an_admin_action_is_logged_with_its_actor(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bastion.admin")
    log_admin_action(ROOT, f"deactivated {ALICE}")
    [record] = [r for r in caplog.records if r.name == "bastion.admin"]
    assert record.getMessage() == f"operator root deactivated {ALICE}"
    assert record.actor == ROOT
