"""Media round trip through the real server: is a large file streamed, or held in memory?

Run:  .venv/bin/python bench/media_roundtrip.py [--size-mb 200] [--deadline 600] [--keep]

It runs `bastion init` in a temporary directory (SQLite, argon2 at its lowest cost,
`media.max_upload_bytes` raised to fit the file), creates one account with the CLI, starts
`bastion serve` on a free 127.0.0.1 port and logs in. Then it writes a file of random bytes to
disk, uploads it with POST /_matrix/media/v3/upload streamed from the file, downloads it from
GET /_matrix/client/v1/media/download streamed to another file, and compares their sha256.

It reports upload and download throughput (MB/s, 1 MB = 10^6 bytes) and the server's memory from
/proc: VmRSS and VmHWM (peak RSS since start) before the upload and after the download. If the
server streams, the peak grows by a few MB whatever the file size; if it buffered, by the size.
One JSON object goes to stdout, a summary to stderr; exit status 1 on any failure. Every request
has a timeout and the whole run a deadline; the server is stopped at the end (SIGTERM, SIGKILL).
"""

# A measurement script, not server code: fixed argv subprocesses, one linear scenario.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import hashlib
import json
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
from benchlib import set_toml_line

HOST = "127.0.0.1"
SERVER_NAME = "bench.local"
PASSWORD = "correct horse battery staple"
CLI_TIMEOUT = 30.0
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CHUNK = 1 << 20
FAST_AUTH = {"argon2_time_cost": "1", "argon2_memory_kib": "1024", "argon2_parallelism": "1"}


class BenchError(Exception):
    pass


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def cli(*args: str, input_text: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BASTION_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args],
        input=input_text,
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`bastion init` + `bastion serve` in a directory of its own."""

    def __init__(self, directory: Path, max_upload_bytes: int) -> None:
        result = cli("init", "--dir", str(directory), "--server-name", SERVER_NAME)
        if result.returncode != 0:
            raise BenchError(f"bastion init failed: {result.stderr}")
        self.directory = directory
        self.config_path = directory / "bastion.toml"
        self.port = free_port()
        text = self.config_path.read_text(encoding="utf-8")
        text = set_toml_line(text, "listen", "port", str(self.port), error=BenchError)
        text = set_toml_line(
            text, "media", "max_upload_bytes", str(max_upload_bytes), error=BenchError
        )
        for key, value in FAST_AUTH.items():
            text = set_toml_line(text, "auth", key, value, error=BenchError)
        self.config_path.write_text(text, encoding="utf-8")
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = directory / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def create_user(self, localpart: str) -> None:
        result = cli(
            "user", "create", localpart, "--password-stdin", "--config", str(self.config_path),
            input_text=PASSWORD + "\n",
        )  # fmt: skip
        if result.returncode != 0:
            raise BenchError(f"bastion user create failed: {result.stderr}")

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bastion", "serve", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
        )
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(f"bastion serve exited:\n{self.log_text()}")
                try:
                    if http.get(f"{self.base_url}/_matrix/client/versions").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise BenchError(f"bastion serve did not answer in {START_TIMEOUT}s:\n{self.log_text()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()


def write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left > 0:
            block = os.urandom(min(CHUNK, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def round_trip(server: Server, work: Path, size: int, deadline: float) -> dict[str, Any]:
    source, target = work / "upload.bin", work / "download.bin"
    source_sha = write_random_file(source, size)
    timeout = httpx.Timeout(max(deadline - time.monotonic(), 1.0), connect=5.0)
    with httpx.Client(base_url=server.base_url, timeout=timeout, trust_env=False) as http:
        login = http.post(
            "/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "bench"},
                "password": PASSWORD,
            },
        )
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        before = memory_kib(server.pid)

        t0 = time.monotonic()
        with source.open("rb") as body:  # httpx streams a file object; it sends Content-Length
            headers = {**auth, "Content-Type": "application/octet-stream"}
            resp = http.post("/_matrix/media/v3/upload", content=body, headers=headers)
        upload_s = time.monotonic() - t0
        if resp.status_code != 200:
            raise BenchError(f"upload: {resp.status_code} {resp.text}")
        media = resp.json()["content_uri"].removeprefix("mxc://")
        after_upload = memory_kib(server.pid)

        digest = hashlib.sha256()
        t0 = time.monotonic()
        url = f"/_matrix/client/v1/media/download/{media}"
        with http.stream("GET", url, headers=auth) as resp, target.open("wb") as out:
            if resp.status_code != 200:
                raise BenchError(f"download: {resp.status_code} {resp.read()!r}")
            for chunk in resp.iter_raw(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        download_s = time.monotonic() - t0
        after = memory_kib(server.pid)

    mb = size / 1e6
    return {
        "size_bytes": size,
        "sha256_match": digest.hexdigest() == source_sha,
        "downloaded_bytes": target.stat().st_size,
        "upload": {"seconds": round(upload_s, 3), "mb_per_s": round(mb / upload_s, 1)},
        "download": {"seconds": round(download_s, 3), "mb_per_s": round(mb / download_s, 1)},
        "server_memory_kib": {
            "before": before,
            "after_upload": after_upload,
            "after_download": after,
            "peak_growth": after["VmHWM"] - before["VmHWM"],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the whole run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    size = args.size_mb * 1_000_000
    deadline = time.monotonic() + args.deadline
    work = Path(tempfile.mkdtemp(prefix="bastion-media-bench-"))
    server = Server(work / "server", max_upload_bytes=size + 100_000_000)
    result: dict[str, Any] = {}
    try:
        server.create_user("bench")
        server.start()
        result = round_trip(server, work, size, deadline)
        result["server_log_tracebacks"] = server.log_text().count("Traceback")
    except (BenchError, httpx.HTTPError, OSError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        server.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if "error" in result:
        print(f"FAILED: {result['error']}", file=sys.stderr)
        return 1
    growth_mb = result["server_memory_kib"]["peak_growth"] / 1024
    print(
        f"{args.size_mb} MB: upload {result['upload']['mb_per_s']} MB/s, "
        f"download {result['download']['mb_per_s']} MB/s, sha256 match "
        f"{result['sha256_match']}, server peak RSS growth {growth_mb:.1f} MiB",
        file=sys.stderr,
    )
    return 0 if result["sha256_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
