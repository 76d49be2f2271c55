"""The `[sso]` config: providers, their secrets, and the client redirect prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import (
    AuthConfig,
    Config,
    ConfigError,
    SsoConfig,
    SsoProvider,
    load_config,
    render_toml,
)

VALID = 'server_name = "example.org"\n[auth]\ntoken_hmac_key = "k"\n'
PROVIDER = (
    '[[sso.providers]]\nid = "entra"\nname = "Contoso"\n'
    'issuer = "https://login.microsoftonline.com/tenant/v2.0"\nclient_id = "app"\n'
)


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "bastion.toml"
    path.write_text(VALID + text)
    return load_config(path)


def test_a_provider_with_a_secret_file_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "entra.secret").write_text("s3cret\n")
    config = _load(tmp_path, PROVIDER + 'client_secret_file = "entra.secret"\n')
    (provider,) = config.sso.providers
    assert provider.client_secret == "s3cret"  # read at load, relative to the config's folder
    assert provider.scopes == ("openid", "profile", "email")
    assert provider.localpart_claim == "preferred_username"
    assert config.sso.client_redirects == ()


def test_providers_round_trip_through_the_rendered_toml(tmp_path: Path) -> None:
    """`bastion init` and a restore write the config with render_toml: providers survive."""
    sso = SsoConfig(
        providers=(
            SsoProvider(id="kc", name="Keycloak", issuer="https://id.example.org/realms/staff",
                        client_id="bastion", client_secret="x", scopes=("openid", "email")),
        ),
        client_redirects=("https://chat.example.org/", "im.fluffychat://login"),
    )  # fmt: skip
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(Config(auth=AuthConfig(token_hmac_key="k"), sso=sso)))
    assert load_config(path).sso == sso


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(PROVIDER, "exactly one of client_secret", id="no-secret"),
        pytest.param(
            PROVIDER.replace("https://login.microsoftonline.com", "http://idp.example.org")
            + 'client_secret = "s"\n',
            "must use https",
            id="http-issuer",
        ),
        pytest.param(
            PROVIDER.replace('"entra"', '"has space"') + 'client_secret = "s"\n',
            "id must be",
            id="bad-id",
        ),
        pytest.param(
            PROVIDER + 'client_secret = "s"\n' + PROVIDER + 'client_secret = "s"\n',
            "used twice",
            id="duplicate-id",
        ),
        pytest.param(
            PROVIDER + 'client_secret = "s"\nscopes = ["profile"]\n', "openid", id="no-openid"
        ),
        pytest.param(
            PROVIDER + 'client_secret_file = "missing.secret"\n',
            "cannot read client_secret_file",
            id="missing-file",
        ),
        pytest.param(
            '[sso]\nclient_redirects = ["https://chat.example.org"]\n',
            "sso.client_redirects",
            id="prefix-without-path",
        ),
        pytest.param(
            '[sso]\nclient_redirects = ["javascript:"]\n', "sso.client_redirects", id="script"
        ),
        pytest.param(
            PROVIDER + 'client_secret = "s"\nicon = "https://example.org/logo.png"\n',
            "icon must be an mxc:// URI",
            id="icon-not-mxc",
        ),
    ],
)
def test_invalid_sso_settings_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert expected in str(exc.value)


def test_a_loopback_issuer_may_use_http(tmp_path: Path) -> None:
    text = PROVIDER.replace(
        "https://login.microsoftonline.com/tenant/v2.0", "http://127.0.0.1:8080/realms/dev"
    )
    assert _load(tmp_path, text + 'client_secret = "s"\n').sso.providers[0].client_id == "app"
