"""Synapse for bench/compare: installed from PyPI into its own venv (bench/.venv-synapse, ignored
by git, none of its code enters the repository), configured and started like the other servers
(servers.py)."""

# ruff: noqa: S603, RUF005

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from servers import (
    HERE,
    HIGH,
    HOST,
    SERVER_NAME,
    CompareError,
    Postgres,
    Server,
    apt_install,
    log,
    run,
)

SYNAPSE_VENV = HERE / ".venv-synapse"
BACKGROUND_UPDATES_TIMEOUT = 180.0
INSTALL_TIMEOUT = 900.0
# --- Synapse install -----------------------------------------------------------------------------


def synapse_python() -> Path:
    return SYNAPSE_VENV / "bin" / "python"


def synapse_version(need_postgres: bool) -> str | None:
    py = synapse_python()
    if not py.exists():
        return None
    # synapse.__version__ appends `git describe` of the folder it sits in, which is this repo.
    code = "import importlib.metadata as m, synapse; print(m.version('matrix-synapse'))"
    if need_postgres:
        code = "import psycopg2; " + code
    try:
        r = subprocess.run(
            [str(py), "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_synapse(need_postgres: bool, out_dir: Path) -> dict[str, Any]:
    version = synapse_version(need_postgres)
    if version is not None:
        return {"version": version, "installed_now": False, "install_s": 0.0}
    t0 = time.perf_counter()
    python3 = shutil.which("python3") or sys.executable
    log(f"installing Synapse from PyPI into {SYNAPSE_VENV} (python3 = {python3})")
    if need_postgres and shutil.which("pg_config") is None:
        apt_install(["libpq-dev"])  # psycopg2 builds from source against libpq
    log_path = out_dir / "synapse-install.log"
    with log_path.open("w") as log_file:
        steps = [
            [python3, "-m", "venv", str(SYNAPSE_VENV)],
            [str(synapse_python()), "-m", "pip", "install", "--upgrade", "pip"],
            [
                str(synapse_python()),
                "-m",
                "pip",
                "install",
                "matrix-synapse[postgres]" if need_postgres else "matrix-synapse",
            ],
        ]
        for argv in steps:
            code = subprocess.run(
                argv,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
            ).returncode
            if code != 0:
                raise CompareError(f"{' '.join(argv)} failed ({code}); see {log_path}")
    version = synapse_version(need_postgres)
    if version is None:
        raise CompareError(f"Synapse did not import after installing; see {log_path}")
    return {
        "version": version,
        "installed_now": True,
        "install_s": round(time.perf_counter() - t0, 1),
    }


class Synapse(Server):
    name = "synapse"

    def __init__(self, directory: Path, pg: Postgres | None) -> None:
        super().__init__(directory, pg)
        self.config = self.dir / "homeserver.yaml"
        run(
            [str(synapse_python()), "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME]
            + ["--config-path", str(self.config), "--generate-config", "--report-stats=no"]
            + ["--data-directory", str(self.dir)],
            timeout=120,
            what="synapse --generate-config",
            cwd=self.dir,
        )
        self.db_path = self.dir / "homeserver.db"
        self.overrides = self.dir / "bench-overrides.yaml"
        self.log_config = self.dir / "log.config.yaml"
        self.synapse_log = self.dir / "homeserver.log"
        # JSON is YAML: no YAML library needed on this side.
        self.log_config.write_text(json.dumps(self.logging_config(), indent=1))
        self.overrides.write_text(json.dumps(self.override_config(), indent=1))

    def logging_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.synapse_log),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def override_config(self) -> dict[str, Any]:
        high = {"per_second": HIGH, "burst_count": HIGH}
        if self.pg is None:
            database: dict[str, Any] = {"name": "sqlite3", "args": {"database": str(self.db_path)}}
        else:
            database = {
                "name": "psycopg2",
                "args": {
                    "user": "bench",
                    "database": "synapse",
                    "host": HOST,
                    "port": self.pg.port,
                    "cp_min": 5,
                    "cp_max": 10,
                },
            }
        return {
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": [HOST],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": database,
            "log_config": str(self.log_config),
            "enable_registration": True,
            "enable_registration_without_verification": True,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "enable_metrics": False,
            # A fresh database runs background updates at start, sleeping between batches;
            # without the sleeps they are done in seconds instead of a minute.
            "background_updates": {"sleep_enabled": False},
            # Background work for features Bastion does not have (user directory search, room
            # statistics): off, which only makes Synapse's job lighter.
            "user_directory": {"enabled": False},
            "stats": {"enabled": False},
            "rc_message": high,
            "rc_registration": high,
            "rc_registration_token_validity": high,
            "rc_login": {"address": high, "account": high, "failed_attempts": high},
            "rc_admin_redaction": high,
            "rc_joins": {"local": high, "remote": high},
            "rc_joins_per_room": high,
            "rc_3pid_validation": high,
            "rc_invites": {"per_room": high, "per_user": high, "per_issuer": high},
            "rc_third_party_invite": high,
            "rc_presence": {"per_user": high},
            "rc_delayed_event_mgmt": high,
            "rc_reports": high,
            "rc_room_creation": high,
            "rc_profile": high,
            "rc_user_directory": high,
            "rc_key_requests": high,
            "rc_media_create": high,
        }

    def command(self) -> list[str]:
        return [
            str(synapse_python()),
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            str(self.config),
            "--config-path",
            str(self.overrides),
        ]

    def extra_logs(self) -> list[Path]:
        return [self.synapse_log]

    def pending_background_updates(self) -> int:
        sql = "SELECT COUNT(*) FROM background_updates"
        if self.pg is not None:
            return int(self.pg.psql(sql, db="synapse"))
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            return int(db.execute(sql).fetchone()[0])

    def wait_until_idle(self) -> float:
        """A fresh Synapse database runs background updates at first; wait them out."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + BACKGROUND_UPDATES_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if self.pending_background_updates() == 0:
                    break
            except (sqlite3.Error, CompareError):
                pass
            time.sleep(1.0)
        return round(time.perf_counter() - t0, 1)
