"""`[server] workers`, `[redis] url` and `[logging] format`: several processes need PostgreSQL
(shared ordering) and Redis (wake-ups between processes); a config that cannot work is refused
at load with a message naming the option, never at the first request."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import Config, ConfigError, load_config

VALID = 'server_name = "example.org"\n[auth]\ntoken_hmac_key = "k"\n'
POSTGRES = '[database]\nurl = "postgresql://bastion@127.0.0.1/bastion"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bastion.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_one_process_without_redis() -> None:
    config = Config()
    assert config.server.workers == 1
    assert config.redis.url == ""
    assert config.logging.format == "text"


def test_several_workers_on_postgres_with_redis_load(tmp_path: Path) -> None:
    text = VALID + POSTGRES + '[server]\nworkers = 4\n[redis]\nurl = "redis://127.0.0.1:6379/0"\n'
    config = load_config(write(tmp_path, text))
    assert config.server.workers == 4
    assert config.redis.url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(VALID + "[server]\nworkers = 2\n", "needs PostgreSQL", id="sqlite"),
        pytest.param(VALID + POSTGRES + "[server]\nworkers = 2\n", "[redis] url", id="no-redis"),
        pytest.param(VALID + "[server]\nworkers = 0\n", "at least 1", id="zero-workers"),
        pytest.param(VALID + '[redis]\nurl = "http://x"\n', "redis.url", id="bad-redis-url"),
        pytest.param(VALID + '[logging]\nformat = "xml"\n', "logging.format", id="bad-format"),
    ],
)
def test_impossible_scale_out_settings_are_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text))
    assert expected in str(exc.value)
