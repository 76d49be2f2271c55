"""Registrations for the application service tests: `bridge` (exclusive users `@_bridge_.*`
and `@whatsapp_.*`, aliases `#_bridge_.*`, at the fake service of appservice_server.py), `ops`
(a non-exclusive namespace `@ops.*`, no URL) and how a test acts as one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from bastion.config import AppServicesConfig
from tests.conftest import client_path

AS_TOKEN = "as-token-of-the-bridge"
HS_TOKEN = "hs-token-of-the-bridge"
OPS_TOKEN = "as-token-of-ops"


def write_registrations(directory: Path, bridge_url: str | None) -> list[str]:
    """Two registration files in `directory`; their paths."""
    bridge = {
        "id": "bridge",
        "url": bridge_url,
        "as_token": AS_TOKEN,
        "hs_token": HS_TOKEN,
        "sender_localpart": "bridgebot",
        "rate_limited": False,
        "protocols": ["whatsapp"],
        "namespaces": {
            "users": [
                {"exclusive": True, "regex": "@_bridge_.*:test\\.bastion"},
                {"exclusive": True, "regex": "@whatsapp_.*"},
            ],
            "aliases": [{"exclusive": True, "regex": "#_bridge_.*"}],
            "rooms": [],
        },
        "de.sorunome.msc2409.push_ephemeral": True,  # keys bridges add are accepted
    }
    ops = {
        "id": "ops",
        "url": None,
        "as_token": OPS_TOKEN,
        "hs_token": "hs-token-of-ops",
        "sender_localpart": "opsbot",
        "namespaces": {"users": [{"exclusive": False, "regex": "@ops"}]},
    }
    paths = []
    for name, body in (("bridge.yaml", bridge), ("ops.yaml", ops)):
        path = directory / name
        path.write_text(yaml.safe_dump(body), encoding="utf-8")
        paths.append(str(path))
    return paths


def appservice_config(tmp_path: Path, bridge_url: str | None) -> dict[str, Any]:
    """The `config_overrides` of a test module using these registrations."""
    files = write_registrations(tmp_path, bridge_url)
    return {"appservices": AppServicesConfig(registration_files=files)}


class ActingService:
    """Requests made with an as_token, as the user (and device) a test names."""

    def __init__(self, http: httpx.AsyncClient, token: str = AS_TOKEN) -> None:
        self.http = http
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        *,
        user_id: str | None = None,
        device_id: str | None = None,
        json: Any = None,
    ) -> httpx.Response:
        params = {}
        if user_id is not None:
            params["user_id"] = user_id
        if device_id is not None:
            params["device_id"] = device_id
        return await self.http.request(
            method, client_path(path), params=params, json=json,
            headers={"Authorization": f"Bearer {self.token}"},
        )  # fmt: skip

    async def register(self, localpart: str, **extra: Any) -> httpx.Response:
        body = {"type": "m.login.application_service", "username": localpart, **extra}
        return await self.request("POST", "/register", json=body)
