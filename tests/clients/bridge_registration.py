"""The registration of a mautrix-style WhatsApp bridge (ghosts `@_wa_*`), written into a client
test's server before it starts: one place for the mautrix tests' shared setup."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.clients.server import BastionServer, free_port, set_toml_line


def install_bridge(
    home: BastionServer, tokens: tuple[str, str], *, aliases: bool = False, **extra: Any
) -> int:
    """Register the bridge (`tokens`: as_token, hs_token; `aliases`: it owns `#_wa_*` too;
    `extra`: more registration keys) and return the port it is to listen on."""
    port = free_port()
    registration = {
        "id": "whatsapp",
        "url": f"http://127.0.0.1:{port}",
        "as_token": tokens[0],
        "hs_token": tokens[1],
        "sender_localpart": "wabot",
        "rate_limited": False,
        "receive_ephemeral": True,
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"@_wa_.*:{home.server_name}"}],
            "aliases": [{"exclusive": True, "regex": "#_wa_.*"}] if aliases else [],
            "rooms": [],
        },
        **extra,
    }
    (home.directory / "whatsapp.yaml").write_text(yaml.safe_dump(registration), "utf-8")
    text = home.config_path.read_text(encoding="utf-8")
    text = set_toml_line(text, "appservices", "registration_files", json.dumps(["whatsapp.yaml"]))
    home.config_path.write_text(text, encoding="utf-8")
    return port
