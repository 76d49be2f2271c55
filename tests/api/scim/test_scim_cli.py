"""`bastion scim-token create --name NAME` "prints the token as its LAST stdout line"; `list`
and `revoke NAME` (issue #12 §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig, render_toml
from tests.conftest import make_config


def test_create_list_and_revoke(
    tmp_path: Path, database_config: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(make_config(tmp_path, database_config)))
    argv = ["--config", str(path)]
    assert cli.main(["scim-token", "create", "--name", "entra", *argv]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert token.startswith("scim_")
    assert len(token) > 40
    assert cli.main(["scim-token", "list", *argv]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("entra\t")
    assert token not in listing
    assert cli.main(["scim-token", "create", "--name", "entra", *argv]) == 1  # taken
    assert cli.main(["scim-token", "revoke", "entra", *argv]) == 0
    assert cli.main(["scim-token", "revoke", "entra", *argv]) == 1  # already gone
    capsys.readouterr()
    assert cli.main(["scim-token", "list", *argv]) == 0
    assert capsys.readouterr().out.strip() == "no SCIM tokens"
