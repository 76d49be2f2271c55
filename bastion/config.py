"""THE configuration: typed, frozen, documented in one place.

Every option is a field of a frozen `msgspec.Struct` below, with its default and a description
(`Meta(description=...)`). The same descriptions render the commented TOML that `bastion init`
writes and `docs/sample-config.toml` (a test fails when that file drifts). Nothing else in Bastion
reads `os.environ`; the only variable is `BASTION_CONFIG`, the config path.

Relative paths in the file (database, signing key, media store) are resolved against the config
file's folder, so a data directory can be moved as a whole.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from bastion.config_secrets import SecretFileError
from bastion.config_secrets import read_secret_files as read_config_secrets
from bastion.config_sections import (
    LOG_LEVELS,
    AppServicesConfig,
    AuthConfig,
    ConsoleConfig,
    DatabaseConfig,
    DirectoryConfig,
    HttpConfig,
    ListenConfig,
    LoggingConfig,
    LoginViaExistingSessionConfig,
    MediaConfig,
    MetricsConfig,
    PresenceConfig,
    PushConfig,
    RateLimit,
    RateLimitsConfig,
    RedisConfig,
    RegistrationConfig,
    RoomsConfig,
    ServerConfig,
    SupportConfig,
    UserDirectoryConfig,
    VoipConfig,
    _doc,
)
from bastion.config_sso import (
    SsoConfig,
    SsoConfigError,
    SsoProvider,
    read_secret_files,
    validate_sso,
)
from bastion.events.types import SUPPORTED_ROOM_VERSIONS
from bastion.ids import is_valid_server_name, is_valid_user_id
from bastion.services.appservices.registration import RegistrationError, load_registrations

DEFAULT_CONFIG_PATH = "bastion.toml"
CONFIG_ENV_VAR = "BASTION_CONFIG"
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 - names of the wildcard, not a bind
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

__all__ = [  # the sections are defined in config_sections.py and re-exported here
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "LOG_LEVELS",
    "AuthConfig",
    "Config",
    "ConfigError",
    "ConsoleConfig",
    "DatabaseConfig",
    "DirectoryConfig",
    "HttpConfig",
    "ListenConfig",
    "LoggingConfig",
    "LoginViaExistingSessionConfig",
    "MediaConfig",
    "MetricsConfig",
    "PresenceConfig",
    "PushConfig",
    "RateLimit",
    "RateLimitsConfig",
    "RedisConfig",
    "RegistrationConfig",
    "RoomsConfig",
    "ServerConfig",
    "SsoConfig",
    "SsoProvider",
    "SupportConfig",
    "UserDirectoryConfig",
    "VoipConfig",
    "client_base_url",
    "config_warnings",
    "default_config_path",
    "load_config",
    "render_toml",
    "resolve_paths",
    "sample_config_toml",
    "sqlite_path",
    "validate",
]


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole Bastion configuration."""

    server_name: Annotated[
        str, _doc("The domain in user IDs (@alice:SERVER_NAME). Cannot change once users exist.")
    ] = "localhost"
    public_baseurl: Annotated[
        str,
        _doc(
            "URL clients use to reach this server (advertised in .well-known), e.g. "
            "https://chat.example.org/ behind a reverse proxy. Empty: http://HOST:PORT/ of "
            "[listen]."
        ),
    ] = ""
    signing_key_path: Annotated[
        str, _doc("The server's ed25519 signing key, written by bastion init.")
    ] = "bastion.signing.key"
    listen: ListenConfig = ListenConfig()
    database: DatabaseConfig = DatabaseConfig()
    http: HttpConfig = HttpConfig()
    registration: RegistrationConfig = RegistrationConfig()
    auth: AuthConfig = AuthConfig()
    login_via_existing_session: LoginViaExistingSessionConfig = LoginViaExistingSessionConfig()
    rate_limits: RateLimitsConfig = RateLimitsConfig()
    media: MediaConfig = MediaConfig()
    user_directory: UserDirectoryConfig = UserDirectoryConfig()
    directory: DirectoryConfig = DirectoryConfig()
    presence: PresenceConfig = PresenceConfig()
    voip: VoipConfig = VoipConfig()
    rooms: RoomsConfig = RoomsConfig()
    push: PushConfig = PushConfig()
    logging: LoggingConfig = LoggingConfig()
    console: ConsoleConfig = ConsoleConfig()
    server: ServerConfig = ServerConfig()
    redis: RedisConfig = RedisConfig()
    metrics: MetricsConfig = MetricsConfig()
    support: SupportConfig = SupportConfig()
    appservices: AppServicesConfig = AppServicesConfig()
    sso: SsoConfig = SsoConfig()
    policy: Annotated[
        dict[str, Any],
        _doc(
            "The organisation policy's first version, put in force on first start (see"
            " docs/governance.md); later changes go through the admin API or the console."
        ),
    ] = {}


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where."""


def default_config_path() -> Path:
    """`$BASTION_CONFIG` if set, else `./bastion.toml`."""
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH))


def load_config(path: Path) -> Config:
    """Read, validate and resolve relative paths of the config file at `path`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist (run `bastion init`)") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from exc
    level = config.logging.level.upper()
    config = msgspec.structs.replace(
        config, logging=msgspec.structs.replace(config.logging, level=level)
    )
    try:
        config = read_config_secrets(config, path.resolve().parent)
    except SecretFileError as exc:
        raise ConfigError(str(exc)) from exc
    validate(config)
    config = resolve_paths(config, path.resolve().parent)
    try:  # read now, so a bad registration file is one error line at start
        load_registrations(config.appservices.registration_files, config.server_name)
    except RegistrationError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        sso = read_secret_files(config.sso, path.resolve().parent)
    except SsoConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return msgspec.structs.replace(config, sso=sso)


MIN_SHARED_SECRET_LENGTH = 32  # registration.shared_secret: guessing it must be hopeless


def validate(config: Config) -> None:
    """Checks that types alone cannot express."""
    if not is_valid_server_name(config.server_name):
        raise ConfigError(f"server_name {config.server_name!r} is not a valid server name")
    if not config.auth.token_hmac_key:
        raise ConfigError("auth.token_hmac_key is empty (bastion init generates one)")
    if 0 < len(config.registration.shared_secret) < MIN_SHARED_SECRET_LENGTH:
        raise ConfigError(
            f"registration.shared_secret: at least {MIN_SHARED_SECRET_LENGTH} characters"
            " (it lets its holder create admin accounts)"
        )
    if not config.database.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"database.url {config.database.url!r}: use sqlite:/// or postgresql://")
    if config.media.max_upload_bytes <= 0:
        raise ConfigError(
            f"media.max_upload_bytes must be positive, not {config.media.max_upload_bytes}"
        )
    if not config.media.store_path:
        raise ConfigError("media.store_path is empty")
    _validate_previews(config.media)
    presence = config.presence
    for name in ("idle_after_seconds", "offline_after_seconds", "expiry_interval_seconds"):
        if getattr(presence, name) <= 0:
            raise ConfigError(f"presence.{name} must be positive, not {getattr(presence, name)}")
    _validate_voip(config.voip)
    _validate_support(config.support)
    _validate_scale_out(config)
    _validate_operations(config)
    _validate_push(config.push)
    _validate_sign_in(config)
    appservices = config.appservices
    if appservices.request_timeout_seconds <= 0 or appservices.retry_max_seconds < 1:
        raise ConfigError(
            "appservices.request_timeout_seconds must be positive and retry_max_seconds at least 1"
        )


def _validate_sign_in(config: Config) -> None:
    try:
        validate_sso(config.sso)
    except SsoConfigError as exc:
        raise ConfigError(str(exc)) from exc
    if not config.console.password_sign_in and not config.sso.providers:
        raise ConfigError(
            "console.password_sign_in = false needs an [[sso.providers]] table: else no admin "
            "could sign in to the console"
        )
    lifetime = config.login_via_existing_session.token_lifetime_seconds
    if not 10 <= lifetime <= 3600:
        raise ConfigError(
            f"login_via_existing_session.token_lifetime_seconds must be 10 to 3600, not {lifetime}"
        )


def _validate_previews(media: MediaConfig) -> None:
    if media.url_preview_max_bytes <= 0 or media.url_preview_timeout_seconds <= 0:
        raise ConfigError(
            "media.url_preview_max_bytes and url_preview_timeout_seconds must be positive"
        )
    for name in ("url_preview_denied_ranges", "url_preview_allowed_ranges"):
        for value in getattr(media, name):
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ConfigError(f"media.{name}: {value!r} is not an address range") from None


def _validate_scale_out(config: Config) -> None:
    """Several processes share ordering through PostgreSQL and wake-ups through Redis."""
    if config.redis.url and not config.redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"redis.url {config.redis.url!r}: use redis://host:port/db")
    workers = config.server.workers
    if workers < 1:
        raise ConfigError(f"server.workers must be at least 1, not {workers}")
    if not 0 <= config.metrics.port <= 65535:
        raise ConfigError(f"metrics.port {config.metrics.port}: use 1-65535, or 0 for no metrics")
    if workers > 1 and config.database.url.startswith("sqlite:"):
        raise ConfigError(
            f"server.workers = {workers} needs PostgreSQL: SQLite serves one process "
            "(move with `bastion migrate-db --to postgresql://...`)"
        )
    if workers > 1 and not config.redis.url:
        raise ConfigError(
            f"server.workers = {workers} needs [redis] url: processes wake each other through Redis"
        )


def _validate_push(push: PushConfig) -> None:
    for entry in push.allowed_gateway_urls:
        if not entry.strip() or entry != entry.strip():
            raise ConfigError(f"push.allowed_gateway_urls: {entry!r} is not a host or URL")
    if push.request_timeout_seconds <= 0 or push.give_up_after_seconds <= 0:
        raise ConfigError("push.request_timeout_seconds and give_up_after_seconds must be positive")


def _validate_operations(config: Config) -> None:
    """Logging level, default room version, trusted proxies and the public URL."""
    if config.logging.level not in LOG_LEVELS:
        raise ConfigError(
            f"logging.level {config.logging.level!r}: use one of {', '.join(LOG_LEVELS)}"
        )
    if config.rooms.default_version not in SUPPORTED_ROOM_VERSIONS:
        raise ConfigError(
            f"rooms.default_version {config.rooms.default_version!r}: supported versions are "
            f"{', '.join(SUPPORTED_ROOM_VERSIONS)}"
        )
    for entry in config.listen.trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(f"listen.trusted_proxies: {exc}") from exc
    if config.public_baseurl:
        url = urlsplit(config.public_baseurl)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"public_baseurl {config.public_baseurl!r}: use http(s)://host[:port]/"
            )


def client_base_url(config: Config) -> str:
    """`public_baseurl`, or when it is empty the listener's own URL (`http://HOST:PORT/`)."""
    if config.public_baseurl:
        return config.public_baseurl
    host = config.listen.host
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.listen.port}/"


def config_warnings(config: Config) -> list[str]:
    """Settings that load but are probably wrong, for `check-config` and start-up."""
    warnings: list[str] = []
    if config.public_baseurl:
        url = urlsplit(config.public_baseurl)
        listen_hosts = {config.listen.host, *_LOOPBACK_HOSTS}
        port = url.port or (443 if url.scheme == "https" else 80)
        if url.scheme == "http" and url.hostname in listen_hosts and port != config.listen.port:
            warnings.append(
                f"public_baseurl {config.public_baseurl} points at port {port}, but the server "
                f"listens on {config.listen.port}: clients told by .well-known will not reach it "
                "(leave public_baseurl empty to follow [listen])"
            )
    return warnings


def _validate_support(support: SupportConfig) -> None:
    if support.page and not support.page.startswith(("https://", "http://")):
        raise ConfigError(f"support.page: {support.page!r} is not an http(s) URL")
    for name in ("admin_matrix_id", "security_matrix_id"):
        value = getattr(support, name)
        if value and not is_valid_user_id(value):
            raise ConfigError(f"support.{name}: {value!r} is not a Matrix user ID")
    for name in ("admin_email", "security_email"):
        value = getattr(support, name)
        if value and ("@" not in value.strip("@") or any(c.isspace() for c in value)):
            raise ConfigError(f"support.{name}: {value!r} is not an email address")


def _validate_voip(voip: VoipConfig) -> None:
    for uri in voip.turn_uris:
        if not uri.startswith(("turn:", "turns:")):
            raise ConfigError(f"voip.turn_uris: {uri!r} is not a turn: or turns: URI")
    if voip.turn_uris and not voip.turn_shared_secret:
        raise ConfigError("voip.turn_shared_secret is empty but voip.turn_uris is set")
    url = voip.livekit_service_url
    if url and not (url.startswith(("https://", "http://")) and len(url) > len("https://")):
        raise ConfigError(f"voip.livekit_service_url: {url!r} is not an http(s) URL")
    if voip.turn_user_lifetime <= 0:
        raise ConfigError(
            f"voip.turn_user_lifetime must be positive, not {voip.turn_user_lifetime}"
        )


def resolve_paths(config: Config, base: Path) -> Config:
    """Make the database, signing key and media paths absolute, relative to `base`."""
    url = config.database.url
    if url.startswith("sqlite:///"):
        db_path = url.removeprefix("sqlite:///")
        url = "sqlite:///" + str(base / db_path) if not db_path.startswith("/") else url
    database = msgspec.structs.replace(config.database, url=url)
    key_path = str(base / config.signing_key_path)
    media = msgspec.structs.replace(config.media, store_path=str(base / config.media.store_path))
    appservices = msgspec.structs.replace(
        config.appservices,
        registration_files=[str(base / f) for f in config.appservices.registration_files],
    )
    return msgspec.structs.replace(
        config, database=database, signing_key_path=key_path, media=media, appservices=appservices
    )


def sqlite_path(url: str) -> str:
    """The file path inside a `sqlite:///` URL."""
    return url.removeprefix("sqlite:///")


def render_toml(config: Config) -> str:
    """The config as commented TOML, every option with its description."""
    lines = [
        "# Bastion configuration. Every option is shown with its current value.",
        "# Relative paths are relative to this file's folder.",
        "",
    ]
    _render_struct(config, [], lines)
    return "\n".join(lines).rstrip() + "\n"


def sample_config_toml() -> str:
    """The documented example config (docs/sample-config.toml), secrets left as placeholders."""
    placeholder = AuthConfig(token_hmac_key="GENERATED-BY-bastion-init")
    return render_toml(Config(auth=placeholder))


def _render_struct(struct: msgspec.Struct, table: list[str], lines: list[str]) -> None:
    nested: list[tuple[str, msgspec.Struct, str]] = []
    info = msgspec.inspect.type_info(type(struct))
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        value = getattr(struct, field.name)
        doc = _description(field.type)
        if isinstance(value, msgspec.Struct):
            nested.append((field.name, value, doc or (type(value).__doc__ or "")))
            continue
        if doc:
            lines.append(f"# {doc}")
        lines.append(f"{field.name} = {_toml_value(value)}")
    for name, value, doc in nested:
        lines.append("")
        lines.append(f"# {' '.join(doc.split())}")  # a docstring may span lines
        lines.append(f"[{'.'.join([*table, name])}]")
        _render_struct(value, [*table, name], lines)


def _description(type_info: msgspec.inspect.Type) -> str:
    if isinstance(type_info, msgspec.inspect.Metadata) and type_info.extra_json_schema:
        return str(type_info.extra_json_schema.get("description", ""))
    return ""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, msgspec.Struct):  # a table in a list, e.g. one of [sso] providers
        return _toml_value(msgspec.structs.asdict(value))
    if isinstance(value, dict):  # an inline table; TOML has no null, so None entries are left out
        items = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    # JSON string escapes are valid TOML; ensure_ascii=False keeps characters outside the BMP
    # whole (JSON would write surrogate pairs, which TOML rejects).
    return json.dumps(str(value), ensure_ascii=False)
