"""`[login_via_existing_session]` (POST /login/get_token): off by default, and a token lifetime
that makes sense or a config error naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import ConfigError, LoginViaExistingSessionConfig, RateLimit, load_config

VALID = """\
server_name = "example.org"

[auth]
token_hmac_key = "secret"
"""


def load(tmp_path: Path, section: str) -> LoginViaExistingSessionConfig:
    path = tmp_path / "bastion.toml"
    path.write_text(VALID + "[login_via_existing_session]\n" + section, encoding="utf-8")
    return load_config(path).login_via_existing_session


def test_off_by_default_and_asking_for_the_password(tmp_path: Path) -> None:
    path = tmp_path / "bastion.toml"
    path.write_text(VALID, encoding="utf-8")
    config = load_config(path)
    assert config.login_via_existing_session == LoginViaExistingSessionConfig(
        enabled=False, require_ui_auth=True, token_lifetime_seconds=120
    )
    # The spec's "maximum of 1 request per minute".
    assert config.rate_limits.login_token_per_user == RateLimit(per_second=1 / 60, burst=1)


def test_enabled_with_its_options(tmp_path: Path) -> None:
    section = "enabled = true\nrequire_ui_auth = false\ntoken_lifetime_seconds = 3600\n"
    assert load(tmp_path, section) == LoginViaExistingSessionConfig(
        enabled=True, require_ui_auth=False, token_lifetime_seconds=3600
    )


@pytest.mark.parametrize("seconds", [0, -5, 9, 3601, 86400])
def test_a_nonsensical_lifetime_is_refused(tmp_path: Path, seconds: int) -> None:
    with pytest.raises(ConfigError, match=r"login_via_existing_session\.token_lifetime_seconds"):
        load(tmp_path, f"enabled = true\ntoken_lifetime_seconds = {seconds}\n")


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ("enabled = 'yes'\n", "login_via_existing_session.enabled"),
        ("token_lifetime_seconds = 1.5\n", "login_via_existing_session.token_lifetime_seconds"),
        ("token_timeout = '5m'\n", "token_timeout"),  # Synapse's name is not ours
    ],
)
def test_wrong_types_and_unknown_keys_are_refused(tmp_path: Path, section: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load(tmp_path, section)
