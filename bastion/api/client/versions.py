"""Discovery: spec versions, .well-known, capabilities.

`unstable_features` lists only features this server implements, under the flag names clients
actually read (see `UNSTABLE_FEATURES`); a flag is never advertised for a feature that is missing
or only partly there, since clients then call endpoints or send fields we would refuse.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.events.types import SUPPORTED_ROOM_VERSIONS
from bastion.json_types import JsonObject

# Every version through v1.18 (each is cumulative). What v1.13..v1.18 added is built (see
# docs/architecture.md, "Spec versions"); left out are the optional parts: the OAuth 2.0 API
# (legacy login stays: auth_metadata answers 404), policy servers, Room Previews.
SUPPORTED_VERSIONS = [f"v1.{minor}" for minor in range(1, 19)]
ROOM_VERSIONS = dict.fromkeys(SUPPORTED_ROOM_VERSIONS, "stable")

# The unstable features we advertise: what matrix-js-sdk (`doesServerSupportUnstableFeature`:
# present and true) and Element read, for features served here at their stable endpoints and
# field names. Flags whose readers also accept a spec version we advertise are listed too: older
# clients read only the flag. Never listed: bare `org.matrix.mscNNNN` flags, which make clients
# use unstable prefixes (`/unstable/...`, `org.matrix.mscNNNN.*` fields) we do not serve.
UNSTABLE_FEATURES: dict[str, bool] = {
    # MSC1756 cross-signing: /keys/device_signing/upload, /keys/signatures/upload
    # (services/e2ee/cross_signing.py). Element before its v1.1 check sets up cross-signing
    # after login, and offers verification, only when this is true.
    "org.matrix.e2e_cross_signing": True,
    # MSC2285 private read receipts: `m.read.private` receipts and read markers
    # (services/ephemeral/receipts.py); Element's "send read receipts" setting.
    "org.matrix.msc2285.stable": True,
    # MSC3030 jump to date: GET /v1/rooms/{roomId}/timestamp_to_event (services/rooms/reading.py).
    "org.matrix.msc3030.stable": True,
    # MSC3440 threads: `m.thread` relations and their bundled summaries (services/relations/).
    "org.matrix.msc3440.stable": True,
    # MSC3715 /relations paged forwards with `dir=f` (services/relations/reading.py).
    "org.matrix.msc3715.stable": True,
    # MSC3856 the thread list, GET /v1/rooms/{roomId}/threads (services/relations/reading.py).
    "org.matrix.msc3856.stable": True,
    # MSC3827 `room_types` filter of /publicRooms (services/directory/rooms.py): Element lists
    # and publishes public spaces only when this is true.
    "org.matrix.msc3827.stable": True,
    # MSC2666 mutual rooms: js-sdk then calls /unstable/uk.half-shot.msc2666/user/mutual_rooms,
    # served with the spec's /v1/mutual_rooms (services/directory/mutual_rooms.py).
    "uk.half-shot.msc2666.query_mutual_rooms": True,
    # MSC4186 simplified sliding sync at /unstable/org.matrix.simplified_msc3575/sync (and
    # /v4/sync): services/sliding_sync/. Element X refuses a server without it.
    "org.matrix.simplified_msc3575": True,
    # MSC4133 extended profiles at the stable /v3/profile/{userId}/{keyName} (spec v1.16;
    # services/profile_fields.py): js-sdk's getExtendedProfile and Element's time zone read this.
    "uk.tcpip.msc4133.stable": True,
}


async def versions(_request: Request) -> Response:
    """GET /_matrix/client/versions"""
    return JsonResponse({"versions": SUPPORTED_VERSIONS, "unstable_features": UNSTABLE_FEATURES})


async def well_known_client(request: Request) -> Response:
    """GET /.well-known/matrix/client"""
    services = services_of(request)
    base_url = services.info.public_baseurl.rstrip("/")
    body: JsonObject = {"m.homeserver": {"base_url": base_url}}
    if foci := services.voip.rtc_transports():  # MSC4143: where group calls connect
        body["org.matrix.msc4143.rtc_foci"] = foci
    return JsonResponse(body)


async def well_known_support(request: Request) -> Response:
    """GET /.well-known/matrix/support (spec v1.10): the `[support]` contacts and page; 404
    when none is configured, as the spec answers "no server support information"."""
    support = services_of(request).info.support
    if support is None:
        raise MatrixError(404, Errcode.NOT_FOUND, "No support information is configured")
    return JsonResponse(support)


async def capabilities(request: Request) -> Response:
    """GET /_matrix/client/v3/capabilities"""
    requester = await require_requester(request)
    get_login_token = await services_of(request).get_login_token.is_available_to(requester)
    moderation = (
        # spec v1.18: what PUT /admin/suspend and /admin/lock allow (admins only; else omitted)
        {"m.account_moderation": {"suspend": True, "lock": True}} if requester.is_admin else {}
    )
    return JsonResponse(
        {
            "capabilities": moderation
            | {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": services_of(request).info.default_room_version,
                    "available": ROOM_VERSIONS,
                },
                "m.profile_fields": {"enabled": True},  # spec v1.16: every field
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": get_login_token},  # per user, as the spec has it
                # spec v1.18: always listed, so clients need not guess (absent means false)
                "m.forget_forced_upon_leave": {
                    "enabled": services_of(request).info.forget_on_leave
                },
            }
        }
    )


async def auth_metadata(_request: Request) -> Response:
    """GET /_matrix/client/v1/auth_metadata

    Next-generation auth (OAuth 2.0, MSC2965) is not offered: 404 M_UNRECOGNIZED, so clients
    (Element X) take the password login."""
    raise MatrixError(404, Errcode.UNRECOGNIZED, "OAuth 2.0 authentication is not offered")


UNVERSIONED_ROUTES = [
    Route("/_matrix/client/versions", versions, methods=["GET"]),
    Route("/.well-known/matrix/client", well_known_client, methods=["GET"]),
    Route("/.well-known/matrix/support", well_known_support, methods=["GET"]),
]
ROUTES = [Route("/capabilities", capabilities, methods=["GET"])]
V1_ROUTES = [Route("/auth_metadata", auth_metadata, methods=["GET"])]
