"""Running `bastion` commands in tests: a config file for the test's database, and accounts made
through the CLI the way an operator makes them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig, render_toml
from tests.conftest import make_config

CLI_PASSWORD = "a long enough password"


def cli_config_args(tmp_path: Path, database: DatabaseConfig) -> list[str]:
    """`["--config", path]` for a config file on the test's database."""
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(make_config(tmp_path, database)))
    return ["--config", str(path)]


def cli_create_user(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, name: str, *, admin: bool = False
) -> None:
    """`bastion user create NAME [--admin] --password-stdin`, which must succeed."""
    monkeypatch.setattr("sys.stdin", io.StringIO(CLI_PASSWORD + "\n"))
    flags = ["--admin"] if admin else []
    assert cli.main(["user", "create", name, *flags, "--password-stdin", *argv]) == 0
