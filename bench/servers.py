"""Starting and stopping the servers bench/compare measures: Bastion from this repository and a
throwaway PostgreSQL (Synapse: synapse_server.py; Redis: redis_server.py); plus the small process
helpers they share."""

# ruff: noqa: S603, S607, RUF005

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx
from benchlib import children_of, set_toml_line

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_ROOT = HERE / "out"
HOST = "127.0.0.1"
SERVER_NAME = "bench.local"
HIGH = 100000
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


class CompareError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def run(
    argv: list[str], *, timeout: float, what: str, **kw: Any
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    if result.returncode != 0:
        raise CompareError(
            f"{what} failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    return result


def export_ref(ref: str, dest: Path) -> str:
    """`git archive REF bastion` into dest; returns the commit's short hash."""
    commit = run(
        ["git", "-C", str(REPO), "rev-parse", "--short", f"{ref}^{{commit}}"],
        timeout=30,
        what=f"git rev-parse {ref}",
    ).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "bastion"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if archive.returncode != 0:
        raise CompareError(f"git archive {commit}: {archive.stderr.decode()[-500:]}")
    untar = subprocess.run(
        ["tar", "-x", "-C", str(dest)],
        input=archive.stdout,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if untar.returncode != 0:
        raise CompareError(f"tar -x: {untar.stderr.decode()[-500:]}")
    return commit


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "bastion"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return commit + ("+dirty bastion/" if dirty else "")


def apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise CompareError(f"need the Debian packages {packages}: install them (not root here)")
    log(f"installing Debian packages {packages}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], timeout=300, what="apt-get update", env=env)
    run(
        ["apt-get", "install", "-y", "-qq", *packages],
        timeout=600,
        what="apt-get install",
        env=env,
    )


# --- PostgreSQL ----------------------------------------------------------------------------------


def find_pg_bin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


class Postgres:
    """A throwaway cluster on a free loopback port, owned by the postgres user when root."""

    def __init__(self, slow_ms: int | None = None) -> None:
        self.slow_ms = slow_ms
        pg_bin = find_pg_bin()
        if pg_bin is None:
            apt_install(["postgresql"])
            pg_bin = find_pg_bin()
        if pg_bin is None:
            raise CompareError("PostgreSQL binaries not found after installing")
        self.bin = pg_bin
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg."))
        self.as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.started = False

    def start(self) -> None:
        data = self.dir / "data"
        run(
            [*self.as_pg, str(self.bin / "initdb"), "-D", str(data), "-A", "trust"]
            + ["-U", "bench", "-E", "UTF8", "--locale=C"],
            timeout=120,
            what="initdb",
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c max_connections=200"
        if self.slow_ms is not None:
            opts += f" -c log_min_duration_statement={self.slow_ms}"
        run(
            [*self.as_pg, str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log")]
            + ["-w", "-o", opts, "start"],
            timeout=120,
            what="pg_ctl start",
        )
        self.started = True
        for db in ("synapse", "bastion"):
            self.create_database(db)

    def create_database(self, db: str) -> None:
        # Synapse requires the C collation; Bastion does not mind it.
        self.psql(
            f"CREATE DATABASE {db} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = run(
            [str(self.bin / "psql"), "-h", HOST, "-p", str(self.port), "-U", "bench", "-d", db]
            + ["-At", "-c", sql],
            timeout=60,
            what=f"psql {sql[:40]}",
        )
        return r.stdout.strip()

    def version(self) -> str:
        return self.psql("SHOW server_version")

    def postmaster_pid(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

    def stop(self, keep_log: Path | None = None) -> None:
        if keep_log is not None and (self.dir / "log").exists():
            shutil.copyfile(self.dir / "log", keep_log)
        if self.started:
            subprocess.run(
                [*self.as_pg, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data")]
                + ["-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the two servers -----------------------------------------------------------------------------


class Server:
    """A homeserver process started from a config written in `directory`."""

    name = "server"

    def __init__(self, directory: Path, pg: Postgres | None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True)
        self.pg = pg
        self.port = free_port()
        self.log_path = self.dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.extra_env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> float:
        t0 = time.perf_counter()
        self._log = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        env.pop("BASTION_CONFIG", None)
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise CompareError(f"{self.name} exited with {code}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if http.get(f"{self.base_url}/_matrix/client/versions").status_code == 200:
                        return round(time.perf_counter() - t0, 2)
                if time.monotonic() > deadline:
                    raise CompareError(f"{self.name} did not answer:\n{self.log_tail()}")
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def pids(self) -> list[int]:
        """Every process whose CPU and memory count as the server's."""
        return [self.pid]

    def log_text(self) -> str:
        paths = [self.log_path, *self.extra_logs()]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def extra_logs(self) -> list[Path]:
        return []

    def log_tail(self) -> str:
        return self.log_text()[-4000:]

    def stop(self) -> dict[str, Any]:
        process, self.process = self.process, None
        info: dict[str, Any] = {"exit_code": None, "stop_s": None, "killed": False}
        if process is not None:
            t0 = time.monotonic()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                info["exit_code"] = process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                info["killed"] = True
                info["exit_code"] = process.wait(timeout=STOP_TIMEOUT)
            info["stop_s"] = round(time.monotonic() - t0, 2)
        if self._log is not None:
            self._log.close()
            self._log = None
        return info

    def wait_until_idle(self) -> float:
        return 0.0

    def log_summary(self) -> dict[str, Any]:
        text = self.log_text()
        out: dict[str, Any] = {
            "tracebacks": text.count("Traceback"),
            "error_lines": [ln[:500] for ln in text.splitlines() if " ERROR " in ln][:5],
        }
        if "Traceback" in text:
            first = text.index("Traceback")
            out["first_traceback"] = text[max(0, first - 300) : first + 2500]
        return out


class Bastion(Server):
    """Bastion from this tree (or an exported commit); with `workers` > 1 a supervisor and its
    worker processes on PostgreSQL + Redis (`redis_url`), each variant on a database of its own."""

    name = "bastion"

    def __init__(
        self,
        directory: Path,
        pg: Postgres | None,
        sqlite_synchronous: str,
        src: Path | None,
        workers: int = 1,
        redis_url: str | None = None,
    ) -> None:
        super().__init__(directory, pg)
        self.workers = workers
        self.database = "bastion" if workers == 1 else f"bastion_x{workers}"
        if workers > 1:
            self.name = f"bastion x{workers}"
            if pg is None or redis_url is None:
                raise CompareError("--bastion-workers > 1 needs --postgres (and Redis)")
            pg.create_database(self.database)
        if src is not None:  # an exported commit, ahead of the editable install on sys.path
            self.extra_env["PYTHONPATH"] = str(src)
        env = dict(os.environ, **self.extra_env)
        py = str(REPO / ".venv" / "bin" / "python")
        init = [py, "-m", "bastion", "init", "--dir", str(self.dir), "--server-name", SERVER_NAME]
        run(init, timeout=60, what="bastion init", env=env, cwd=self.dir)
        where = [py, "-c", "import bastion; print(bastion.__file__)"]
        self.module = run(where, timeout=60, what="import", env=env, cwd=self.dir).stdout.strip()
        self.config = self.dir / "bastion.toml"
        text = self.config.read_text()
        edits: list[tuple[str, str, str]] = [
            ("listen", "host", f'"{HOST}"'),
            ("listen", "port", str(self.port)),
            ("registration", "mode", '"open"'),
            ("auth", "argon2_time_cost", "1"),
            ("auth", "argon2_memory_kib", "1024"),
            ("auth", "argon2_parallelism", "1"),
            ("logging", "level", '"WARNING"'),
            ("database", "sqlite_synchronous", f'"{sqlite_synchronous}"'),
        ]
        if "[presence]" in text:  # as Synapse runs here: presence off (older commits lack it)
            edits.append(("presence", "enabled", "false"))
        if pg is not None:
            url = f'"postgresql://bench@{HOST}:{pg.port}/{self.database}"'
            edits.append(("database", "url", url))
        if workers > 1:
            edits.append(("redis", "url", f'"{redis_url}"'))
        for table in (
            "rate_limits.login_per_ip",
            "rate_limits.failed_login_per_account",
            "rate_limits.register_per_ip",
            "rate_limits.requests_per_user",
        ):
            edits += [(table, "per_second", f"{HIGH}.0"), (table, "burst", str(HIGH))]
        for table, key, value in edits:
            text = set_toml_line(text, table, key, value, error=CompareError)
        self.config.write_text(text)

    def command(self) -> list[str]:
        py = str(REPO / ".venv" / "bin" / "python")
        argv = [py, "-m", "bastion", "serve", "--config", str(self.config)]
        return argv if self.workers == 1 else [*argv, "--workers", str(self.workers)]

    def start(self) -> float:
        t0 = time.perf_counter()
        super().start()
        # The supervisor's socket answers once one worker accepts: wait until each worker is
        # there, and give them a moment to finish starting (the accept queue is shared, so a
        # worker still starting takes no connection).
        deadline = time.monotonic() + START_TIMEOUT
        while self.workers > 1 and len(children_of(self.pid)) < self.workers + 1:
            if time.monotonic() > deadline:
                raise CompareError(f"{self.name}: not every worker started:\n{self.log_tail()}")
            time.sleep(0.2)
        if self.workers > 1:
            time.sleep(3.0)
        return round(time.perf_counter() - t0, 2)

    def pids(self) -> list[int]:
        """The supervisor and its workers (started before the load, never restarted in a
        healthy run; a restart would show as a traceback in the log summary)."""
        return children_of(self.pid) if self.workers > 1 else [self.pid]


# --- one server's run ----------------------------------------------------------------------------
