"""Secrets in files of their own (bastion/config_secrets.py): `auth.token_hmac_key_file`,
`registration.shared_secret_file`, `voip.turn_shared_secret_file`, each a file holding only the
secret, relative to the config file's folder; both set, or a missing or empty file, is one clear
error at start, never an empty secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import ConfigError, load_config


def write(folder: Path, text: str) -> Path:
    path = folder / "bastion.toml"
    path.write_text('server_name = "example.org"\n' + text)
    return path


def test_secrets_are_read_from_their_files(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_text("  token-key-from-a-file\n")
    (secrets / "shared").write_text("s" * 40 + "\n")
    turn = tmp_path / "turn.secret"  # an absolute path works too
    turn.write_text("coturn-static-auth-secret")
    config = load_config(
        write(
            tmp_path,
            '[auth]\ntoken_hmac_key_file = "secrets/token"\n'
            '[registration]\nshared_secret_file = "secrets/shared"\n'
            f'[voip]\nturn_uris = ["turn:turn.example.org"]\nturn_shared_secret_file = "{turn}"\n',
        )
    )
    assert config.auth.token_hmac_key == "token-key-from-a-file"
    assert config.registration.shared_secret == "s" * 40
    assert config.voip.turn_shared_secret == "coturn-static-auth-secret"
    assert config.auth.token_hmac_key_file == ""  # read: nothing left to read later


def test_a_secret_file_is_checked_as_the_secret_is(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("hunter2")
    text = '[auth]\ntoken_hmac_key = "k"\n[registration]\nshared_secret_file = "short"\n'
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, text))
    assert "registration.shared_secret: at least 32 characters" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[auth]\ntoken_hmac_key = "k"\ntoken_hmac_key_file = "key"\n',
            "auth.token_hmac_key: set token_hmac_key or token_hmac_key_file, not both",
        ),
        ('[auth]\ntoken_hmac_key_file = "missing"\n', "auth.token_hmac_key_file: cannot read"),
        ('[auth]\ntoken_hmac_key_file = "empty"\n', "auth.token_hmac_key_file:"),
    ],
)
def test_refusals(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "key").write_text("a-key")
    (tmp_path / "empty").write_text(" \n")
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, text))
    assert expected in str(refused.value)
    if "empty" in text:
        assert "is empty" in str(refused.value)
