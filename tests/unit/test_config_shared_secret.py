"""`registration.shared_secret`: off when empty; a short secret is refused at start-up (its
holder can create admin accounts, so guessing it must be hopeless)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import ConfigError, load_config

VALID = 'server_name = "example.org"\n[auth]\ntoken_hmac_key = "k"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bastion.toml"
    path.write_text(VALID + text)
    return path


def test_off_by_default_and_a_long_secret_is_kept(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).registration.shared_secret == ""
    secret = "s" * 32
    loaded = load_config(write(tmp_path, f'[registration]\nshared_secret = "{secret}"\n'))
    assert loaded.registration.shared_secret == secret


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, '[registration]\nshared_secret = "hunter2"\n'))
    assert "registration.shared_secret" in str(exc.value)
