"""The [media] config section: defaults, relative store path, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import ConfigError, MediaConfig, load_config

BASE = """\
server_name = "example.org"

[auth]
token_hmac_key = "secret"
"""


def load(tmp_path: Path, media: str = "") -> MediaConfig:
    path = tmp_path / "conf" / "bastion.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(BASE + ("\n[media]\n" + media if media else ""), encoding="utf-8")
    return load_config(path).media


def test_defaults_resolve_against_the_config_folder(tmp_path: Path) -> None:
    media = load(tmp_path)
    assert media.store_path == str(tmp_path / "conf" / "data" / "media")
    assert media.max_upload_bytes == 104_857_600
    assert media.allow_legacy_unauthenticated is False


def test_absolute_store_path_and_overrides(tmp_path: Path) -> None:
    media = load(
        tmp_path,
        f'store_path = "{tmp_path / "elsewhere"}"\n'
        "max_upload_bytes = 5000\nallow_legacy_unauthenticated = true\n",
    )
    assert media == MediaConfig(
        store_path=str(tmp_path / "elsewhere"),
        max_upload_bytes=5000,
        allow_legacy_unauthenticated=True,
    )


@pytest.mark.parametrize(
    "media",
    [
        "max_upload_bytes = 0\n",
        "max_upload_bytes = -1\n",
        'store_path = ""\n',
        "size = 5\n",
        # URL previews: ranges must be CIDR, the bounds positive
        'url_preview_allowed_ranges = ["intranet"]\n',
        'url_preview_denied_ranges = ["10.0.0.0/33"]\n',
        "url_preview_max_bytes = 0\n",
        "url_preview_timeout_seconds = -1\n",
    ],
)
def test_invalid_media_settings_are_refused(tmp_path: Path, media: str) -> None:
    with pytest.raises(ConfigError):
        load(tmp_path, media)
