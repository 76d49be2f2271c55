"""The real `bastion` program, run as subprocesses: the CLI, and `bastion serve` under uvicorn.

Unlike the in-process `hs` fixture (tests/conftest.py), everything here goes through the `bastion`
program (`python -m bastion`, the same `main` as the console script) as an operator runs it:
`bastion init` writes the data directory, the CLI manages accounts, and `bastion serve` listens on
127.0.0.1 on a free port with a SQLite database in pytest's `tmp_path`. Only the listening port and
the argon2 cost are changed in the generated bastion.toml, by editing its text.

Every wait is bounded: CLI commands by `CLI_TIMEOUT`, start-up by `START_TIMEOUT`, shutdown by
`STOP_TIMEOUT` (after which the process is killed).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.subprocess_coverage import measured_env

SERVER_NAME = "test.bastion"
PASSWORD = "correct horse battery staple"
HOST = "127.0.0.1"
CONFIG_FILE_NAME = "bastion.toml"
KEY_FILE_NAME = "bastion.signing.key"

CLI_TIMEOUT = 30.0
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05

# argon2id keeps its algorithm but at the lowest cost, as in tests/conftest.py's FAST_AUTH.
FAST_AUTH = {"argon2_time_cost": "1", "argon2_memory_kib": "1024", "argon2_parallelism": "1"}


def bastion_command() -> list[str]:
    """How to run the `bastion` program with the interpreter running the tests."""
    return [sys.executable, "-m", "bastion"]


def _child_env(*, measured: bool = False) -> dict[str, str]:
    """The environment of a `bastion` child; `measured`: under the test run's coverage too
    (tests/subprocess_coverage.py)."""
    env = measured_env() if measured else dict(os.environ)
    env.pop("BASTION_CONFIG", None)  # every command gets its config explicitly
    env["PYTHONUNBUFFERED"] = "1"  # the log file shows start-up lines as they happen
    return env


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (bind to port 0, then release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(
    *args: str | os.PathLike[str],
    input_text: str | None = None,
    cwd: Path | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `bastion ARGS...` to completion; stdin is `input_text` (or empty), output is text."""
    return subprocess.run(
        [*bastion_command(), *map(str, args)],
        input=input_text if input_text is not None else "",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_child_env(),
        timeout=timeout,
        check=False,
    )


def init_data_dir(directory: Path, server_name: str = SERVER_NAME) -> Path:
    """`bastion init --dir DIRECTORY --server-name SERVER_NAME`; returns the config path."""
    result = run_cli("init", "--dir", directory, "--server-name", server_name)
    assert result.returncode == 0, result.stderr
    return directory / CONFIG_FILE_NAME


def set_toml_line(text: str, table: str, key: str, value: str) -> str:
    """Replace the line `KEY = ...` inside `[TABLE]` of a file written by render_toml."""
    lines = text.splitlines()
    current = ""
    for index, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip("[]")
        elif current == table and line.startswith(f"{key} = "):
            lines[index] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise AssertionError(f"no line {key!r} in [{table}] of the generated config")


def configure_for_tests(config_path: Path, port: int) -> None:
    """Point `[listen] port` at `port` and lower the argon2 cost, editing the TOML text."""
    text = config_path.read_text(encoding="utf-8")
    text = set_toml_line(text, "listen", "port", str(port))
    for key, value in FAST_AUTH.items():
        text = set_toml_line(text, "auth", key, value)
    config_path.write_text(text, encoding="utf-8")


class ServerDidNotStart(AssertionError):
    """`bastion serve` exited or did not answer in time; the message carries its log."""


class BastionServer:
    """A data directory made by `bastion init`, and `bastion serve` on it when started."""

    def __init__(self, directory: Path, server_name: str = SERVER_NAME) -> None:
        self.directory = directory
        self.server_name = server_name
        self.config_path = init_data_dir(directory, server_name)
        self.port = free_port()
        configure_for_tests(self.config_path, self.port)
        self.log_path = directory / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.starts = 0
        self.measured = False  # `serve` under the run's coverage (tests/subprocess_coverage.py)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    # --- the CLI -----------------------------------------------------------------------------

    def cli(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """`bastion ARGS... --config CONFIG`, e.g. `cli("user", "list")`."""
        return run_cli(*args, "--config", self.config_path, input_text=input_text)

    def create_user(self, localpart: str, password: str = PASSWORD, *, admin: bool = False) -> str:
        """`bastion user create LOCALPART [--admin] --password-stdin`; fails the test if refused."""
        flags = ["--admin"] if admin else []
        result = self.cli(
            "user", "create", localpart, *flags, "--password-stdin", input_text=password + "\n"
        )
        assert result.returncode == 0, result.stderr
        user_id = self.user_id(localpart)
        assert user_id in result.stdout
        return user_id

    # --- the server process --------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything `bastion serve` wrote so far, across restarts."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Run `bastion serve` and wait until /_matrix/client/versions answers."""
        assert self.process is None, "already started"
        self.starts += 1
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"--- start {self.starts} ---\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            [*bastion_command(), "serve", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env=_child_env(measured=self.measured),
        )
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_matrix/client/versions"
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise ServerDidNotStart(f"bastion serve exited with {code}:\n{self.log_text()}")
                try:
                    if http.get(url).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerDidNotStart(
                        f"bastion serve did not answer within {timeout}s:\n{self.log_text()}"
                    )
                time.sleep(POLL_INTERVAL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if that takes too long.

        Returns the exit status, or None if the server was not running.
        """
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int | None:
        """`kill -9`: no shutdown, no lifespan exit, no chance to flush anything."""
        return self._end(signal.SIGKILL, STOP_TIMEOUT)

    def _end(self, sig: signal.Signals, timeout: float) -> int | None:
        process, self.process = self.process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(sig)
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait(timeout=STOP_TIMEOUT)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or `kill -9`) the server and start it again on the same config and port."""
        if kill:
            self.kill()
        else:
            self.stop()
        self.start()


@pytest.fixture
def bastion_home(tmp_path: Path) -> Iterator[BastionServer]:
    """A data directory made by `bastion init` (test port, cheap argon2), server not started.

    Teardown stops the server and fails the test if its log shows an unhandled error.
    """
    server = BastionServer(tmp_path / "bastion")
    try:
        yield server
    finally:
        server.stop()
    # A 500 answered to a client is logged with its traceback; none may go unnoticed.
    assert "Traceback" not in server.log_text(), server.log_text()


@pytest.fixture
def bastion_server(bastion_home: BastionServer) -> BastionServer:
    """`bastion serve` running on `bastion_home`, answering on `base_url`."""
    bastion_home.start()
    return bastion_home
