"""`bastion serve` as operators run it: JSON logs with request IDs, /health and /ready, and the
metrics listener (docs/operations.md).

docs/operations.md#logs: "`[logging] format = "json"` writes one JSON object per line instead,
with exactly these keys: time, level, logger, message, request_id, pid"; #metrics: "served on a
listener of their own ... never on the client API's port".
"""

from __future__ import annotations

import json

import httpx

from tests.clients.server import BastionServer, free_port, set_toml_line

KEYS = {"time", "level", "logger", "message", "request_id", "pid"}


def test_json_logs_request_ids_health_and_metrics(bastion_home: BastionServer) -> None:
    config = bastion_home.config_path
    metrics_port = free_port()
    text = config.read_text(encoding="utf-8")
    text = set_toml_line(text, "logging", "format", '"json"')
    text = set_toml_line(text, "metrics", "port", str(metrics_port))
    config.write_text(text, encoding="utf-8")
    bastion_home.start()
    with httpx.Client(base_url=bastion_home.base_url, trust_env=False, timeout=5) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok"})
        versions = http.get("/_matrix/client/versions", headers={"X-Request-ID": "op-test-1"})
        assert versions.headers["x-request-id"] == "op-test-1"
        assert http.get("/metrics").status_code == 404  # not on the client API's port
        scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", trust_env=False)
    assert scrape.status_code == 200
    assert 'bastion_http_requests_total{method="GET",route="/health",status_class="2xx"}' in (
        scrape.text
    )
    bastion_home.stop()
    lines = [
        line
        for line in bastion_home.log_text().splitlines()
        if line and not line.startswith("--- start")
    ]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(set(entry) == KEYS for entry in entries)
    access = [e for e in entries if e["logger"] == "bastion.access"]
    assert any(e["request_id"] == "op-test-1" and "versions" in e["message"] for e in access)
    startup = [e for e in entries if "Bastion serving" in e["message"]]
    assert startup[0]["request_id"] is None
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # uvicorn's lines too


def test_forwarded_for_is_ignored_without_trusted_proxies(bastion_home: BastionServer) -> None:
    """docs/operations.md: "Without this setting [...] the access log shows only the proxy. With
    it, Bastion believes `X-Forwarded-For` from those addresses only": a loopback peer is no
    proxy unless `[listen] trusted_proxies` names it (uvicorn's own proxy-header handling, which
    trusts 127.0.0.1 by default, must not run)."""
    config = bastion_home.config_path
    text = set_toml_line(config.read_text(encoding="utf-8"), "logging", "access_log", "true")
    config.write_text(set_toml_line(text, "logging", "level", '"INFO"'), encoding="utf-8")
    bastion_home.start()
    with httpx.Client(base_url=bastion_home.base_url, trust_env=False, timeout=5) as http:
        headers = {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "xff-test-1"}
        assert http.get("/_matrix/client/versions", headers=headers).status_code == 200
    bastion_home.stop()
    access = [line for line in bastion_home.log_text().splitlines() if "xff-test-1" in line]
    assert access
    assert all("203.0.113.9" not in line for line in access)
    assert any('127.0.0.1 "GET /_matrix/client/versions' in line for line in access)
