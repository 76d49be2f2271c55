"""Secrets kept in files of their own: beside each secret of the config file, a `<name>_file`
naming a file that holds only the secret (a systemd credential, a Docker or Kubernetes secret, a
file only the service account may read), so the config file itself can be shared, versioned or
templated without them. Relative paths are taken from the config file's folder; the file's
whitespace around the secret is dropped. Setting both, or a file that cannot be read or is
empty, is an error at start (one line), never a silent empty secret. Identity providers' client
secrets have the same (`client_secret_file`, config_sso.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

# (section, secret) of every secret that may live in a file.
SECRET_FIELDS = (
    ("auth", "token_hmac_key"),
    ("registration", "shared_secret"),
    ("voip", "turn_shared_secret"),
)


class SecretFileError(Exception):
    """A secret file is missing, unreadable or empty, or the secret is also set inline."""


def read_secret_files(config: Any, base: Path) -> Any:
    """`config` with each `<secret>_file` read into its secret (and the file field cleared)."""
    for section_name, name in SECRET_FIELDS:
        section = getattr(config, section_name)
        file_name = getattr(section, f"{name}_file")
        if not file_name:
            continue
        where = f"{section_name}.{name}"
        if getattr(section, name):
            raise SecretFileError(f"{where}: set {name} or {name}_file, not both")
        path = base / file_name
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretFileError(f"{where}_file: cannot read {path}: {exc}") from exc
        if not secret:
            raise SecretFileError(f"{where}_file: {path} is empty")
        fields = {name: secret, f"{name}_file": ""}
        section = msgspec.structs.replace(section, **fields)
        config = msgspec.structs.replace(config, **{section_name: section})
    return config
