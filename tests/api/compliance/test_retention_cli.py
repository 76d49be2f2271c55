"""`bastion retention purge [--dry-run]`: a purge pass from the command line, audited as the
operator who ran it (issue #13: "a dry-run mode reporting what it would delete: CLI `bastion
retention purge [--dry-run]`")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig, render_toml
from bastion.store.opening import open_database
from tests.conftest import make_config


def test_cli_purge_reports_and_is_audited(
    tmp_path: Path, database_config: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, database_config)
    path = tmp_path / "bastion.toml"
    path.write_text(render_toml(config))
    assert cli.main(["retention", "purge", "--dry-run", "--config", str(path)]) == 0
    assert "would delete 0 expired events in 0 rooms" in capsys.readouterr().out
    assert cli.main(["retention", "purge", "--config", str(path)]) == 0
    assert "deleted 0 expired events in 0 rooms" in capsys.readouterr().out

    async def audited() -> list[tuple[str, str]]:
        db = await open_database(config.database.url, schema=config.database.schema)
        try:
            rows = await db.fetch_all(
                "SELECT actor_kind, outcome FROM audit_log WHERE action = 'retention.purge'"
            )
            return [(row[0], row[1]) for row in rows]
        finally:
            await db.close()

    assert asyncio.run(audited()) == [("operator", "success")] * 2
