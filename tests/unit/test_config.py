"""Loading, validating and rendering the config file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from bastion.clock import FakeClock
from bastion.config import (
    CONFIG_ENV_VAR,
    AuthConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    ListenConfig,
    MediaConfig,
    RateLimit,
    RateLimitsConfig,
    RegistrationConfig,
    client_base_url,
    config_warnings,
    default_config_path,
    load_config,
    render_toml,
    sample_config_toml,
    sqlite_path,
)
from bastion.services.ratelimit import RateLimiter

SAMPLE_CONFIG = Path(__file__).parents[2] / "docs" / "sample-config.toml"

VALID = """\
server_name = "example.org"

[auth]
token_hmac_key = "secret"
"""


def write(tmp_path: Path, text: str, name: str = "bastion.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_render_then_load_round_trips(tmp_path: Path) -> None:
    config = Config(
        server_name="chat.example.org:8448",
        public_baseurl="https://chat.example.org/",
        signing_key_path=str(tmp_path / "keys" / "signing.key"),
        listen=ListenConfig(host="::1", port=9008),
        database=DatabaseConfig(
            url=f"sqlite:///{tmp_path / 'db' / 'x.db'}", sqlite_synchronous="full"
        ),
        registration=RegistrationConfig(mode="token"),
        auth=AuthConfig(
            token_hmac_key='quote" back\\slash tab\t é', argon2_time_cost=5, lockout_seconds=60
        ),
        rate_limits=RateLimitsConfig(login_per_ip=RateLimit(per_second=0.25, burst=7)),
        media=MediaConfig(store_path=str(tmp_path / "media"), max_upload_bytes=5000),
    )
    path = write(tmp_path, render_toml(config))

    assert load_config(path) == config


def test_render_round_trips_postgres_settings(tmp_path: Path) -> None:
    config = Config(
        signing_key_path=str(tmp_path / "k"),
        database=DatabaseConfig(
            url="postgresql://bastion:pw@db.internal:5432/bastion", schema="chat", pool_size=3
        ),
        auth=AuthConfig(token_hmac_key="k"),
        media=MediaConfig(store_path=str(tmp_path / "media")),
    )
    assert load_config(write(tmp_path, render_toml(config))) == config


def test_rendered_toml_documents_every_option() -> None:
    text = render_toml(Config(auth=AuthConfig(token_hmac_key="k")))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), f"option without a description: {line}"
    assert "[rate_limits.login_per_ip]" in text
    assert tomllib.loads(text)["auth"]["token_hmac_key"] == "k"


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.server_name == "example.org"
    assert config.auth.token_hmac_key == "secret"
    assert config.listen == ListenConfig()
    assert config.registration.mode == "disabled"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(VALID + "bogus = 1\n", "bogus", id="unknown-top-level-key"),
        pytest.param(VALID + "[listen]\nhots = 'x'\n", "hots", id="unknown-nested-key"),
        pytest.param(VALID + "[listen]\nport = 'eighty'\n", "listen.port", id="wrong-type"),
        pytest.param(
            VALID + "[registration]\nmode = 'sometimes'\n", "registration.mode", id="bad-literal"
        ),
        pytest.param(
            'server_name = "not a host!"\n[auth]\ntoken_hmac_key = "k"\n',
            "server_name",
            id="bad-server-name",
        ),
        pytest.param('server_name = "example.org"\n', "token_hmac_key", id="missing-hmac-key"),
        pytest.param(
            'server_name = "example.org"\n[auth]\ntoken_hmac_key = ""\n',
            "token_hmac_key",
            id="empty-hmac-key",
        ),
        pytest.param(
            VALID + '[database]\nurl = "mysql://localhost/bastion"\n',
            "database.url",
            id="bad-database-url",
        ),
        pytest.param(
            VALID + '[database]\nurl = "sqlite://relative.db"\n',
            "database.url",
            id="sqlite-url-two-slashes",
        ),
        pytest.param(
            VALID + '[voip]\nlivekit_service_url = "rtc.example.org"\n',
            "voip.livekit_service_url",
            id="livekit-url-without-scheme",
        ),
        pytest.param(
            VALID + '[support]\nadmin_matrix_id = "it@example.org"\n',
            "support.admin_matrix_id",
            id="support-matrix-id-not-a-user-id",
        ),
        pytest.param(
            VALID + '[support]\nsecurity_email = "security"\n',
            "support.security_email",
            id="support-email-without-at",
        ),
        pytest.param(
            VALID + '[support]\npage = "it.example.org"\n',
            "support.page",
            id="support-page-without-scheme",
        ),
        pytest.param("server_name = \n", "cannot read", id="invalid-toml"),
    ],
)
def test_invalid_config_is_refused_with_a_helpful_message(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert expected in str(exc.value)


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value)
    assert "bastion init" in str(exc.value)


def test_type_errors_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "[listen]\nport = 'eighty'\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value)


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "bastion"
    folder.mkdir(parents=True)
    write(
        folder,
        'server_name = "example.org"\nsigning_key_path = "keys/signing.key"\n'
        '[auth]\ntoken_hmac_key = "k"\n[database]\nurl = "sqlite:///data/bastion.db"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter

    config = load_config(Path("..") / "etc" / "bastion" / "bastion.toml")

    assert config.signing_key_path == str(folder.resolve() / "keys" / "signing.key")
    assert config.database.url == f"sqlite:///{folder.resolve() / 'data' / 'bastion.db'}"
    assert sqlite_path(config.database.url) == str(folder.resolve() / "data" / "bastion.db")


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    db_file = tmp_path / "abs" / "bastion.db"
    key_file = tmp_path / "abs" / "signing.key"
    path = write(
        tmp_path,
        f'server_name = "example.org"\nsigning_key_path = "{key_file}"\n'
        f'[auth]\ntoken_hmac_key = "k"\n[database]\nurl = "sqlite:///{db_file}"\n',
    )
    config = load_config(path)
    assert config.database.url == f"sqlite:///{db_file}"
    assert config.database.url.startswith("sqlite:////")
    assert config.signing_key_path == str(key_file)


def test_postgres_url_is_not_touched(tmp_path: Path) -> None:
    url = "postgresql://u:p@localhost:5432/bastion"
    path = write(tmp_path, VALID + f'[database]\nurl = "{url}"\n')
    assert load_config(path).database.url == url


def test_default_config_path_honours_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV_VAR, "/srv/bastion/custom.toml")
    assert default_config_path() == Path("/srv/bastion/custom.toml")
    monkeypatch.delenv(CONFIG_ENV_VAR)
    assert default_config_path() == Path("bastion.toml")


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.server_name = "other"  # type: ignore[misc]
    assert msgspec.structs.replace(config, server_name="x").server_name == "x"


def test_sample_config_is_valid_toml_for_the_defaults() -> None:
    raw = tomllib.loads(sample_config_toml())
    config = msgspec.convert(raw, Config)
    assert config == Config(auth=AuthConfig(token_hmac_key="GENERATED-BY-bastion-init"))


def test_docs_sample_config_is_up_to_date() -> None:
    expected = sample_config_toml()
    actual = SAMPLE_CONFIG.read_text(encoding="utf-8") if SAMPLE_CONFIG.exists() else ""
    assert actual == expected, (
        f"{SAMPLE_CONFIG} is out of date with bastion/config.py; "
        "run `make sample-config` and commit the result"
    )


def test_characters_outside_the_bmp_round_trip(tmp_path: Path) -> None:
    """JSON would escape an emoji as a surrogate pair, which TOML refuses."""
    config = Config(
        public_baseurl="https://czat.example.pl/🏥/",
        auth=AuthConfig(token_hmac_key="klucz-żółw-🔑"),
    )
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(config), encoding="utf-8")
    loaded = load_config(path)
    assert loaded.public_baseurl == "https://czat.example.pl/🏥/"
    assert loaded.auth.token_hmac_key == "klucz-żółw-🔑"


# --- operator experience (issue #10) ------------------------------------------------------------


def test_public_baseurl_follows_the_listener_unless_set(tmp_path: Path) -> None:
    """Setting `listen.port` alone must not leave .well-known pointing at the old port."""
    moved = load_config(write(tmp_path, VALID + "[listen]\nport = 9000\n"))
    assert client_base_url(moved) == "http://127.0.0.1:9000/"
    wildcard = Config(listen=ListenConfig(host="0.0.0.0", port=8448))  # noqa: S104 - a value
    assert client_base_url(wildcard) == "http://127.0.0.1:8448/"
    assert client_base_url(Config(listen=ListenConfig(host="::1"))) == "http://[::1]:8008/"
    chosen = Config(public_baseurl="https://chat.example.org/", listen=ListenConfig(port=9000))
    assert client_base_url(chosen) == "https://chat.example.org/"


def test_config_warns_when_public_baseurl_and_listener_disagree(tmp_path: Path) -> None:
    stale = VALID.replace(
        'server_name = "example.org"\n',
        'server_name = "example.org"\npublic_baseurl = "http://127.0.0.1:8008/"\n',
    )
    warnings = config_warnings(load_config(write(tmp_path, stale + "[listen]\nport = 9000\n")))
    assert len(warnings) == 1
    assert "8008" in warnings[0]
    assert "9000" in warnings[0]
    # Behind a reverse proxy the public URL differs from the listener by design.
    proxied = Config(public_baseurl="https://chat.example.org/", listen=ListenConfig(port=9000))
    assert config_warnings(proxied) == []
    assert config_warnings(Config(listen=ListenConfig(port=9000))) == []


def test_public_baseurl_must_be_an_http_url(tmp_path: Path) -> None:
    path = write(tmp_path, 'public_baseurl = "chat.example.org"\n' + VALID)
    with pytest.raises(ConfigError, match="public_baseurl"):
        load_config(path)


@pytest.mark.parametrize("level", ["info", "Info", "INFO"])
def test_logging_level_accepts_any_case(tmp_path: Path, level: str) -> None:
    """`logging.level = "info"` was refused; any case is accepted and normalised."""
    config = load_config(write(tmp_path, VALID + f'[logging]\nlevel = "{level}"\n'))
    assert config.logging.level == "INFO"


def test_unknown_logging_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"logging\.level"):
        load_config(write(tmp_path, VALID + '[logging]\nlevel = "verbose"\n'))


def test_default_room_version_is_configurable_and_checked(tmp_path: Path) -> None:
    """Older clients expect `!id:server` room IDs (room version 11 and lower)."""
    assert Config().rooms.default_version == "12"  # the spec's recommended default stays
    config = load_config(write(tmp_path, VALID + '[rooms]\ndefault_version = "11"\n'))
    assert config.rooms.default_version == "11"
    for bad in ("6", "12x", "13"):
        path = write(tmp_path, VALID + f'[rooms]\ndefault_version = "{bad}"\n')
        with pytest.raises(ConfigError, match=r"rooms\.default_version") as exc:
            load_config(path)
        assert bad in str(exc.value)


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    good = VALID + '[listen]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]\n'
    config = load_config(write(tmp_path, good))
    assert config.listen.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "fd00::/8")
    assert load_config(write(tmp_path, render_toml(config))) == config
    for bad in ("10.0.0.0/33", "proxy.internal"):
        path = write(tmp_path, VALID + f'[listen]\ntrusted_proxies = ["{bad}"]\n')
        with pytest.raises(ConfigError, match="trusted_proxies"):
            load_config(path)


def test_login_limit_admits_a_shift_change_behind_one_nat() -> None:
    """Hundreds of logins a minute from one address (a hospital behind one NAT) are not 429s."""
    clock = FakeClock()
    per_address = RateLimiter(clock, RateLimitsConfig().login_per_ip)
    for _ in range(300):  # everyone at once, as a shift starts
        per_address.hit("198.51.100.1")
    for _ in range(300):  # and as many again over the next minute
        clock.advance(0.2)
        per_address.hit("198.51.100.1")
