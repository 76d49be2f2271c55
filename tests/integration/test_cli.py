"""The `bastion` command end to end, as an operator runs it: subprocesses on a real data dir."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import stat
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.clients.server import (
    CLI_TIMEOUT,
    CONFIG_FILE_NAME,
    KEY_FILE_NAME,
    PASSWORD,
    SERVER_NAME,
    BastionServer,
    bastion_command,
    run_cli,
    set_toml_line,
)

CLIENT = "/_matrix/client/v3"


def _login(server: BastionServer, localpart: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
        return http.post(
            f"{CLIENT}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": password,
            },
        )


def _whoami(server: BastionServer, token: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
        return http.get(f"{CLIENT}/account/whoami", headers={"Authorization": f"Bearer {token}"})


def _assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A non-zero exit with an `error:` line on stderr naming the problem, and no traceback."""
    assert result.returncode != 0, result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --- init ---------------------------------------------------------------------------------------


def test_init_writes_a_private_config_and_a_signing_key(tmp_path: Path) -> None:
    directory = tmp_path / "new-site"

    result = run_cli("init", "--dir", directory, "--server-name", "chat.example.org")

    assert result.returncode == 0, result.stderr
    config, key = directory / CONFIG_FILE_NAME, directory / KEY_FILE_NAME
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0  # no access for group or others
    text = config.read_text(encoding="utf-8")
    assert 'server_name = "chat.example.org"' in text
    algorithm, version, seed = key.read_text(encoding="utf-8").split()
    assert algorithm == "ed25519"
    assert len(seed) >= 40  # 32 bytes, unpadded base64
    assert f"ed25519:{version}" in result.stdout
    assert str(config) in result.stdout
    # A fresh, random secret per site; check-config agrees with what init wrote.
    assert re.search(r'^token_hmac_key = "[^"]{32,}"$', text, re.MULTILINE)
    checked = run_cli("check-config", "--config", config)
    assert checked.returncode == 0, checked.stderr
    assert f"ed25519:{version}" in checked.stdout


def test_init_refuses_to_overwrite_an_existing_config(bastion_home: BastionServer) -> None:
    config_before = bastion_home.config_path.read_bytes()
    key_before = (bastion_home.directory / KEY_FILE_NAME).read_bytes()

    result = run_cli("init", "--dir", bastion_home.directory, "--server-name", "other.example")

    _assert_clean_failure(result, "already exists")
    assert bastion_home.config_path.read_bytes() == config_before
    assert (bastion_home.directory / KEY_FILE_NAME).read_bytes() == key_before


def test_init_rejects_an_invalid_server_name(tmp_path: Path) -> None:
    result = run_cli("init", "--dir", tmp_path / "site", "--server-name", "bad name!")

    _assert_clean_failure(result, "bad name!")
    assert not (tmp_path / "site" / CONFIG_FILE_NAME).exists()


# --- check-config -------------------------------------------------------------------------------


def test_check_config_prints_a_summary(bastion_home: BastionServer) -> None:
    result = bastion_home.cli("check-config")

    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    assert re.search(rf"server_name:\s+{re.escape(SERVER_NAME)}$", result.stdout, re.MULTILINE)
    assert f"127.0.0.1:{bastion_home.port}" in result.stdout
    assert "sqlite" in result.stdout
    assert "registration:  disabled" in result.stdout


@pytest.mark.parametrize(
    ("table", "key", "value", "needle"),
    [
        ("", "server_name", '"bad name!"', "bad name!"),
        ("listen", "port", '"not a number"', "port"),
        ("registration", "mode", '"sometimes"', "mode"),
        ("database", "url", '"mysql://db/bastion"', "database.url"),
    ],
    ids=["server-name", "port-type", "registration-mode", "database-url"],
)
def test_check_config_rejects_bad_values(
    bastion_home: BastionServer, table: str, key: str, value: str, needle: str
) -> None:
    text = bastion_home.config_path.read_text(encoding="utf-8")
    bastion_home.config_path.write_text(set_toml_line(text, table, key, value), encoding="utf-8")

    _assert_clean_failure(bastion_home.cli("check-config"), needle)


def test_check_config_rejects_an_unknown_key(bastion_home: BastionServer) -> None:
    text = bastion_home.config_path.read_text(encoding="utf-8")
    text = text.replace("[listen]\n", "[listen]\nprot = 9000\n")
    bastion_home.config_path.write_text(text, encoding="utf-8")

    _assert_clean_failure(bastion_home.cli("check-config"), "prot")


def test_check_config_on_a_missing_file(tmp_path: Path) -> None:
    result = run_cli("check-config", "--config", tmp_path / "nowhere.toml")

    _assert_clean_failure(result, "nowhere.toml", "does not exist")


@pytest.mark.parametrize("command", ["check-config", "serve"])
def test_an_unusable_certificate_authority_variable_stops_the_start(
    bastion_home: BastionServer, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """services/outbound_tls.py: found before anything is served, not at the first call."""
    missing = bastion_home.config_path.parent / "no-such-ca.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))

    result = bastion_home.cli(command)

    _assert_clean_failure(result, f"SSL_CERT_FILE={missing}", "certificate authorities")
    assert result.returncode == 2


def test_serve_refuses_to_start_on_a_broken_config(bastion_home: BastionServer) -> None:
    text = bastion_home.config_path.read_text(encoding="utf-8")
    bastion_home.config_path.write_text(text.replace("[auth]\n", "[auth]\nsalt = 1\n"))

    result = bastion_home.cli("serve")

    _assert_clean_failure(result, "salt")


# --- migrate ------------------------------------------------------------------------------------


def test_migrate_applies_once_then_reports_up_to_date(bastion_home: BastionServer) -> None:
    first = bastion_home.cli("migrate")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"applied migrations: \d{4}(, \d{4})*\n", first.stdout), first.stdout
    assert "0001" in first.stdout

    second = bastion_home.cli("migrate")
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    assert "applied" not in second.stdout


# --- user ---------------------------------------------------------------------------------------


def test_user_create_list_and_deactivate(bastion_home: BastionServer) -> None:
    bastion_home.create_user("alice")
    created = bastion_home.cli(
        "user", "create", "root", "--admin", "--password-stdin", input_text=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created admin @root:test.bastion"

    again = bastion_home.cli(
        "user", "create", "alice", "--password-stdin", input_text=PASSWORD + "\n"
    )
    _assert_clean_failure(again, "@alice:test.bastion", "M_USER_IN_USE")
    assert "taken" in again.stderr or "in use" in again.stderr

    listed = _user_flags(bastion_home)
    assert listed == {"@alice:test.bastion": "", "@root:test.bastion": "admin"}

    deactivated = bastion_home.cli("user", "deactivate", "alice")
    assert deactivated.returncode == 0, deactivated.stderr
    assert "@alice:test.bastion" in deactivated.stdout
    assert _user_flags(bastion_home) == {
        "@alice:test.bastion": "deactivated",
        "@root:test.bastion": "admin",
    }


def _user_flags(server: BastionServer) -> dict[str, str]:
    """`bastion user list` as {user_id: flags}; checks each line's shape."""
    result = server.cli("user", "list")
    assert result.returncode == 0, result.stderr
    flags: dict[str, str] = {}
    today = datetime.now(UTC).date()
    for line in result.stdout.splitlines():
        user_id, created, flag = line.split("\t")
        assert abs(date.fromisoformat(created) - today) <= timedelta(days=1)
        flags[user_id] = flag
    return flags


def test_user_create_refuses_bad_input(bastion_home: BastionServer) -> None:
    short = bastion_home.cli("user", "create", "alice", "--password-stdin", input_text="short\n")
    _assert_clean_failure(short, "M_WEAK_PASSWORD")
    no_terminal = bastion_home.cli("user", "create", "alice")
    _assert_clean_failure(no_terminal, "--password-stdin")
    bad_name = bastion_home.cli(
        "user", "create", "Not Valid!", "--password-stdin", input_text=PASSWORD + "\n"
    )
    _assert_clean_failure(bad_name, "M_INVALID_USERNAME")

    assert _user_flags(bastion_home) == {}


def test_user_create_refuses_a_user_id_on_another_server(bastion_home: BastionServer) -> None:
    result = bastion_home.cli(
        "user", "create", "@carol:elsewhere.example", "--password-stdin", input_text=PASSWORD + "\n"
    )

    _assert_clean_failure(result, "elsewhere.example")
    assert _user_flags(bastion_home) == {}


def test_user_commands_on_an_unknown_user_fail(bastion_home: BastionServer) -> None:
    _assert_clean_failure(bastion_home.cli("user", "deactivate", "ghost"), "M_NOT_FOUND")
    reset = bastion_home.cli(
        "user", "reset-password", "ghost", "--password-stdin", input_text=PASSWORD + "\n"
    )
    _assert_clean_failure(reset, "M_NOT_FOUND")


def test_reset_password_replaces_the_password_and_ends_sessions(
    bastion_server: BastionServer,
) -> None:
    bastion_server.create_user("alice")
    login = _login(bastion_server, "alice", PASSWORD)
    assert login.status_code == 200, login.text
    old_token = login.json()["access_token"]

    reset = bastion_server.cli(
        "user", "reset-password", "alice", "--password-stdin", input_text="a brand new secret\n"
    )
    assert reset.returncode == 0, reset.stderr
    assert "@alice:test.bastion" in reset.stdout

    old = _login(bastion_server, "alice", PASSWORD)
    assert old.status_code == 403, old.text
    assert old.json()["errcode"] == "M_FORBIDDEN"
    new = _login(bastion_server, "alice", "a brand new secret")
    assert new.status_code == 200, new.text
    stale = _whoami(bastion_server, old_token)
    assert stale.status_code == 401, stale.text
    assert stale.json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert _whoami(bastion_server, new.json()["access_token"]).status_code == 200


# --- registration-token -------------------------------------------------------------------------


def test_registration_token_create_list_delete(bastion_home: BastionServer) -> None:
    before = datetime.now(UTC)
    created = bastion_home.cli(
        "registration-token", "create", "--uses", "2", "--expires-in-days", "1"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9._~-]{8,64}", token), token

    listed = bastion_home.cli("registration-token", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 1
    listed_token, uses, expires = lines[0].split("\t")
    assert listed_token == token
    assert uses == "used 0 of 2"
    expiry = datetime.fromisoformat(expires.removeprefix("expires "))
    assert before + timedelta(days=1) - timedelta(minutes=1) <= expiry
    assert expiry <= datetime.now(UTC) + timedelta(days=1, minutes=1)

    unlimited = bastion_home.cli("registration-token", "create", "--token", "welcome-2024")
    assert unlimited.returncode == 0, unlimited.stderr
    assert unlimited.stdout.strip() == "welcome-2024"
    both = bastion_home.cli("registration-token", "list").stdout
    assert "welcome-2024\tused 0 of unlimited\texpires never" in both

    deleted = bastion_home.cli("registration-token", "delete", token)
    assert deleted.returncode == 0, deleted.stderr
    remaining = bastion_home.cli("registration-token", "list").stdout
    assert token not in remaining
    assert "welcome-2024" in remaining


@pytest.mark.parametrize("days", ["-2", "0", "nan", "inf", "1e300"])
def test_registration_token_create_refuses_a_nonsense_expiry(
    bastion_home: BastionServer, days: str
) -> None:
    result = bastion_home.cli("registration-token", "create", "--expires-in-days", days)

    _assert_clean_failure(result, "expires")
    assert bastion_home.cli("registration-token", "list").stdout == ""


# --- serve --------------------------------------------------------------------------------------


def test_serve_logs_where_it_listens_and_how_to_make_an_admin(
    bastion_server: BastionServer,
) -> None:
    log = bastion_server.log_text()
    assert f"on http://127.0.0.1:{bastion_server.port}" in log
    assert f"Bastion serving {SERVER_NAME}" in log
    assert f"bastion user create NAME --admin --config {bastion_server.config_path}" in log

    # Once an admin exists, the next start no longer nags.
    bastion_server.create_user("root", admin=True)
    # SIGTERM is a graceful shutdown (uvicorn then re-raises the signal, hence -15, not 0).
    assert bastion_server.stop() == -signal.SIGTERM
    assert "Application shutdown complete" in bastion_server.log_text()
    bastion_server.start()
    second_start = bastion_server.log_text().split("--- start 2 ---", 1)[1]
    assert f"on http://127.0.0.1:{bastion_server.port}" in second_start
    assert "bastion user create NAME --admin" not in second_start


# --- operator experience (issue #10) ------------------------------------------------------------


def _set(server: BastionServer, table: str, key: str, value: str) -> None:
    text = server.config_path.read_text(encoding="utf-8")
    server.config_path.write_text(set_toml_line(text, table, key, value), encoding="utf-8")


def _assert_one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    _assert_clean_failure(result, *needles)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_check_config_shows_the_public_url_and_warns_when_it_misses_the_listener(
    bastion_home: BastionServer,
) -> None:
    """`listen.port` alone moves the advertised URL; a stale explicit one draws a warning."""
    followed = bastion_home.cli("check-config")
    assert followed.returncode == 0, followed.stderr
    assert f"public URL:    http://127.0.0.1:{bastion_home.port}/" in followed.stdout
    assert "warning" not in followed.stderr

    _set(bastion_home, "", "public_baseurl", '"http://127.0.0.1:8008/"')
    stale = bastion_home.cli("check-config")

    assert stale.returncode == 0, stale.stderr
    assert stale.stderr.startswith("warning: public_baseurl"), stale.stderr
    assert "8008" in stale.stderr
    assert str(bastion_home.port) in stale.stderr


def test_logging_level_in_lower_case_is_accepted(bastion_home: BastionServer) -> None:
    _set(bastion_home, "logging", "level", '"info"')

    result = bastion_home.cli("check-config")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url",
    ['"postgresql://bastion:s3cret@127.0.0.1:1/bastion"', '"sqlite:////proc/no/such/bastion.db"'],
    ids=["postgres-refused", "sqlite-unwritable"],
)
@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_an_unreachable_database_is_one_clear_line(
    bastion_home: BastionServer, url: str, command: str
) -> None:
    _set(bastion_home, "database", "url", url)

    result = bastion_home.cli(command)

    _assert_one_error_line(result, "cannot open database")
    assert "s3cret" not in result.stderr
    assert "serving" not in result.stdout + result.stderr


def test_serve_on_a_busy_port_is_one_clear_line(bastion_home: BastionServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", bastion_home.port))
        taken.listen()

        result = bastion_home.cli("serve")

    _assert_one_error_line(result, f"127.0.0.1:{bastion_home.port}")
    assert "serving" not in result.stdout + result.stderr


def test_data_is_readable_only_by_the_server_user(bastion_home: BastionServer) -> None:
    """The config is 0600; the database it protects is 0600 in a 0700 folder."""
    bastion_home.create_user("alice")

    data = bastion_home.directory / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    database_files = list(data.glob("bastion.db*"))
    assert data / "bastion.db" in database_files
    for path in database_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _at_the_password_prompt(server: BastionServer, key: bytes | None) -> tuple[int, str]:
    """Run `user create alice` on a terminal, then press `key` (None: Ctrl-C as SIGINT) at the
    first prompt; returns the exit status and stderr."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "BASTION_CONFIG"}
    process = subprocess.Popen(
        [*bastion_command(), "user", "create", "alice", "--config", str(server.config_path)],
        stdin=terminal,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # no controlling terminal: getpass falls back to stdin, our pty
    )
    os.close(terminal)
    try:
        assert process.stderr is not None
        seen = _read_until(process.stderr.fileno(), b"Password: ")
        if key is None:
            process.send_signal(signal.SIGINT)
        else:
            os.write(controller, key)
        rest = process.stderr.read()
        status = process.wait(timeout=CLI_TIMEOUT)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    return status, (seen + rest).decode()


def _read_until(fd: int, needle: bytes) -> bytes:
    """Bytes read from `fd` until `needle` appears (bounded by CLI_TIMEOUT)."""
    seen = b""
    deadline = time.monotonic() + CLI_TIMEOUT
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {needle!r} within {CLI_TIMEOUT}s: {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1024)
            assert chunk, f"stream ended before {needle!r}: {seen!r}"
            seen += chunk
    return seen


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [(b"\x04", 1, "error: no password given"), (None, 130, "error: interrupted")],
    ids=["ctrl-d", "ctrl-c"],
)
def test_leaving_the_password_prompt_is_one_clear_line(
    bastion_home: BastionServer, key: bytes | None, status: int, message: str
) -> None:
    code, stderr = _at_the_password_prompt(bastion_home, key)

    assert code == status, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == message
    assert _user_flags(bastion_home) == {}


def test_registration_token_create_warns_unless_registration_uses_tokens(
    bastion_home: BastionServer,
) -> None:
    disabled = bastion_home.cli("registration-token", "create")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stderr.startswith("warning: registration.mode is 'disabled'"), disabled.stderr

    _set(bastion_home, "registration", "mode", '"token"')
    enabled = bastion_home.cli("registration-token", "create")
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stderr == ""
