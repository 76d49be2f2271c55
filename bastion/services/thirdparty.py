"""Third-party network lookups (spec: client-server-api#third-party-networks).

Third-party networks are reached through bridges (application services), and Bastion has none
yet: the protocol list is empty (`{}`, which clients such as Element ask for at every login),
every protocol is unknown (404 `M_NOT_FOUND`, the spec's answer for "the protocol is unknown"),
and reverse lookups of a Matrix room alias or user ID find no third-party location or user
(`[]`). When bridges arrive, their protocols plug in here.
"""

from __future__ import annotations

from typing import NoReturn

from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject


def protocols() -> dict[str, JsonObject]:
    """`GET /thirdparty/protocols`: the protocols bridges offer, by name."""
    return {}


def require_protocol(protocol: str) -> NoReturn:
    """The metadata of `protocol`, which no bridge offers yet.

    Raises:
        MatrixError: 404 M_NOT_FOUND, the spec's answer for an unknown protocol.
    """
    raise MatrixError(404, Errcode.NOT_FOUND, f"unknown third-party protocol {protocol!r}")


def reverse_lookup(name: str, value: str | None) -> list[JsonObject]:
    """Third-party locations of a room alias or users of a user ID (`name` is the query
    parameter, `alias` or `userid`): none without bridges.

    Raises:
        MatrixError: 400 M_MISSING_PARAM when the parameter is missing.
    """
    if not value:
        raise MatrixError(400, Errcode.MISSING_PARAM, f"missing query parameter {name!r}")
    return []
