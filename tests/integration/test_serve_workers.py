"""`bastion serve`'s lifespan starts the background workers after opening the runtime and stops
them, in reverse order, on a graceful shutdown (SIGTERM), before the process ends."""

from __future__ import annotations

import signal

from tests.clients.server import BastionServer


def test_serve_starts_and_stops_its_workers(bastion_server: BastionServer) -> None:
    assert "workers started: presence expiry, push delivery, offboarding resumer" in (
        bastion_server.log_text()
    )
    assert "workers stopped" not in bastion_server.log_text()
    assert bastion_server.stop() == -signal.SIGTERM  # uvicorn re-raises the signal it handled
    log = bastion_server.log_text()
    started = log.index("workers started")
    stopped = log.index("workers stopped: compliance exports, history purge, retention purge")
    assert started < log.index("Shutting down") < stopped < log.index("shutdown complete")
