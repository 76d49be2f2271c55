"""The `[voip]` config: TURN URIs and coturn's shared secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import AuthConfig, Config, ConfigError, VoipConfig, load_config, render_toml

VALID = 'server_name = "example.org"\n[auth]\ntoken_hmac_key = "k"\n'


def test_turn_settings_round_trip(tmp_path: Path) -> None:
    voip = VoipConfig(
        turn_uris=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
        turn_shared_secret="s3cret",
        turn_user_lifetime=600,
    )
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(Config(auth=AuthConfig(token_hmac_key="k"), voip=voip)))
    assert load_config(path).voip == voip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[voip]\nturn_uris = ["stun:x.org"]\nturn_shared_secret = "s"\n',
            "voip.turn_uris",
            id="not-a-turn-uri",
        ),
        pytest.param(
            '[voip]\nturn_uris = ["turn:x.org"]\n', "voip.turn_shared_secret", id="no-secret"
        ),
        pytest.param("[voip]\nturn_user_lifetime = 0\n", "voip.turn_user_lifetime", id="lifetime"),
    ],
)
def test_invalid_turn_settings_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bastion.toml"
    path.write_text(VALID + text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert expected in str(exc.value)
