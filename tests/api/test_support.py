"""`GET /.well-known/matrix/support` (spec v1.10, support.yaml): the server's contacts and
support page from `[support]`; 404 when none is configured."""

from __future__ import annotations

import pytest

from bastion.config import SupportConfig
from tests.conftest import Homeserver, errcode

SUPPORT = {
    "support": SupportConfig(
        page="https://it.example.org/matrix",
        admin_email="matrix-admins@example.org",
        admin_matrix_id="@it:example.org",
        security_matrix_id="@security:example.org",
    )
}
ONLY_PAGE = {"support": SupportConfig(page="https://it.example.org/matrix")}


@pytest.mark.parametrize("config_overrides", [SUPPORT])
async def test_contacts_and_page(hs: Homeserver) -> None:
    """ "contacts": each with a `role` and at least one of `matrix_id` and `email_address`;
    "support_page": a URL. No access token needed (it is read before signing in)."""
    resp = await hs.http.get("/.well-known/matrix/support")
    assert resp.status_code == 200
    assert resp.json() == {
        "contacts": [
            {
                "role": "m.role.admin",
                "email_address": "matrix-admins@example.org",
                "matrix_id": "@it:example.org",
            },
            {"role": "m.role.security", "matrix_id": "@security:example.org"},
        ],
        "support_page": "https://it.example.org/matrix",
    }


@pytest.mark.parametrize("config_overrides", [ONLY_PAGE])
async def test_a_page_alone(hs: Homeserver) -> None:
    resp = await hs.http.get("/.well-known/matrix/support")
    assert resp.json() == {"support_page": "https://it.example.org/matrix"}


async def test_nothing_configured_is_404(hs: Homeserver) -> None:
    resp = await hs.http.get("/.well-known/matrix/support")
    assert errcode(resp) == (404, "M_NOT_FOUND")
