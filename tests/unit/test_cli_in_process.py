"""`bastion init`, `check-config` and `migrate` in this process (tests/integration/test_cli.py
runs them as an operator does, in subprocesses; these cover the same paths where coverage sees
them, and the failures that need no server)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bastion import cli
from bastion.cli.server import CONFIG_FILE_NAME, KEY_FILE_NAME


def _init(directory: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli.main(["init", "--dir", str(directory), "--server-name", "chat.example.org"]) == 0
    out = capsys.readouterr().out
    assert "wrote signing key ed25519:" in out
    return directory / CONFIG_FILE_NAME


def test_init_then_check_config_then_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _init(tmp_path / "site", capsys)
    assert (tmp_path / "site" / KEY_FILE_NAME).exists()
    monkeypatch.chdir(tmp_path / "site")
    assert cli.main(["check-config", "--config", str(config)]) == 0
    summary = capsys.readouterr().out
    assert "server_name:   chat.example.org" in summary
    assert "registration:  disabled" in summary
    assert cli.main(["migrate", "--config", str(config)]) == 0
    assert "applied migrations: 0001" in capsys.readouterr().out
    assert cli.main(["migrate", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "database is up to date"


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _init(tmp_path, capsys)
    before = config.read_bytes()
    assert cli.main(["init", "--dir", str(tmp_path), "--server-name", "other.example"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert config.read_bytes() == before


def test_init_refuses_an_invalid_server_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["init", "--dir", str(tmp_path), "--server-name", "bad name!"]) == 2
    assert "bad name!" in capsys.readouterr().err
    assert not (tmp_path / CONFIG_FILE_NAME).exists()


def test_check_config_on_a_missing_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-config", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1


def test_serve_on_a_busy_port_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The root logger is the test runner's: serve's logging set-up must not replace it.
    monkeypatch.setattr("bastion.cli.server.setup_logging", lambda *_args: None)
    config = _init(tmp_path, capsys)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        text = config.read_text().replace("port = 8008", f"port = {port}")
        config.write_text(text)
        assert cli.main(["serve", "--config", str(config)]) == 1
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_serve_workers_flag_is_refused_on_sqlite_and_without_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15: `bastion serve --workers N` is "refused with a clear message on SQLite or
    without `[redis] url`", like `[server] workers` (the flag overrides it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bastion.cli.server.setup_logging", lambda *_args: None)
    config = _init(tmp_path, capsys)
    assert cli.main(["serve", "--config", str(config), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --workers 2: server.workers = 2 needs PostgreSQL")
    assert len(err.strip().splitlines()) == 1

    text = config.read_text().replace(
        'url = "sqlite:///data/bastion.db"', 'url = "postgresql://db/x"'
    )
    config.write_text(text)
    assert cli.main(["serve", "--config", str(config), "--workers", "3"]) == 2
    assert "needs [redis] url" in capsys.readouterr().err
    assert cli.main(["serve", "--config", str(config), "--workers", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
