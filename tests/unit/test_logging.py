"""Log lines (observability/logs.py): the JSON format and the request ID every line carries.

docs/operations.md#logs: "`[logging] format = "json"` writes one JSON object per line with
time, level, logger, message, request_id and pid"; "outside a request request_id is null".
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime

import pytest

from bastion.observability.logs import log_handler
from bastion.observability.request_id import (
    accepted_request_id,
    enter_request,
    leave_request,
)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing through a JSON handler into a buffer."""
    buffer = io.StringIO()
    logger = logging.getLogger("bastion.test_logging")
    handler = log_handler("json", buffer)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_every_field(captured: tuple[logging.Logger, io.StringIO]) -> None:
    """ "one JSON object per line with time, level, logger, message, request_id and pid"."""
    logger, buffer = captured
    token = enter_request("req-42")
    try:
        logger.warning("sent %s\nsecond line", "x")
    finally:
        leave_request(token)
    logger.info("outside")
    first, second = lines(buffer)
    assert set(first) == {"time", "level", "logger", "message", "request_id", "pid"}
    assert first["level"] == "WARNING"
    assert first["logger"] == "bastion.test_logging"
    assert first["message"] == "sent x\nsecond line"  # still one line of output
    assert first["request_id"] == "req-42"
    assert first["pid"] == os.getpid()
    assert datetime.fromisoformat(str(first["time"])).utcoffset() is not None
    assert second["request_id"] is None  # "outside a request request_id is null"


def test_json_line_includes_the_traceback(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (entry,) = lines(buffer)
    assert "ValueError: boom" in str(entry["exception"])


def test_text_lines_carry_the_request_id() -> None:
    buffer = io.StringIO()
    logger = logging.getLogger("bastion.test_logging.text")
    handler = log_handler("text", buffer)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = enter_request("abc")
        logger.warning("hello")
        leave_request(token)
        logger.warning("later")
    finally:
        logger.removeHandler(handler)
    first, second = buffer.getvalue().splitlines()
    assert first.endswith("WARNING bastion.test_logging.text [abc]: hello")
    assert second.endswith("[-]: later")


def test_text_time_is_logging_s_own_to_the_millisecond() -> None:
    """The text format's time is `logging`'s `asctime` ("2026-12-05 08:00:00,123"), though its
    date and time part is computed once a second."""
    handler = log_handler("text", io.StringIO())
    reference = logging.Formatter("%(asctime)s")
    for created in (1764921600.0, 1764921600.9996, 1764921601.05, 1764921599.5):
        record = logging.makeLogRecord({"created": created, "msecs": (created % 1) * 1000})
        assert handler.formatter is not None
        assert handler.formatter.formatTime(record) == reference.formatTime(record)


@pytest.mark.parametrize(
    "incoming",
    ["", "a b", "line\nbreak", "x" * 65, "é", 'quote"', None],
)
def test_an_insane_incoming_request_id_is_replaced(incoming: str | None) -> None:
    """ "an incoming X-Request-ID is kept when it is 1 to 64 of [A-Za-z0-9._:-]", else replaced:
    a client cannot split or forge a log line through it."""
    replaced = accepted_request_id(incoming)
    assert replaced != incoming
    assert len(replaced) == 32
    assert accepted_request_id(replaced) == replaced


def test_a_sane_incoming_request_id_is_kept() -> None:
    for incoming in ("abc", "6f1c2e0a-8d4b-4c37-9d3e-2b1f0a9c7e55", "lb:1.2-x_y", "x" * 64):
        assert accepted_request_id(incoming) == incoming
