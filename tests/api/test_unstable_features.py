"""`unstable_features` in `GET /_matrix/client/versions`, as clients read it."""

from __future__ import annotations

from tests.conftest import Homeserver

# Each flag is read by matrix-js-sdk or Element (`doesServerSupportUnstableFeature`) and the
# feature it names is served (see api/client/versions.py for where).
EXPECTED = {
    "org.matrix.e2e_cross_signing": True,
    "org.matrix.msc2285.stable": True,
    "org.matrix.msc3030.stable": True,
    "org.matrix.msc3440.stable": True,
    "org.matrix.msc3715.stable": True,
    "org.matrix.msc3827.stable": True,
    "org.matrix.msc3856.stable": True,
    "org.matrix.simplified_msc3575": True,  # Element X refuses a server without it
    "uk.half-shot.msc2666.query_mutual_rooms": True,  # js-sdk's path to /mutual_rooms
    "uk.tcpip.msc4133.stable": True,  # js-sdk's stable /v3 profile fields (spec v1.16)
}


async def test_unstable_features_are_exactly_the_ones_implemented(hs: Homeserver) -> None:
    """spec: "unstable_features: Experimental features the server supports. Features not listed
    here, or the lack of this property all together, indicate that a feature is not
    supported." "Servers may wish to keep advertising features here after they've been released
    into the spec to give clients a chance to upgrade appropriately": Element before its v1.1
    check sets up cross-signing after login only when `org.matrix.e2e_cross_signing` is true."""
    resp = await hs.http.get("/_matrix/client/versions")
    assert resp.status_code == 200
    assert resp.json()["unstable_features"] == EXPECTED
