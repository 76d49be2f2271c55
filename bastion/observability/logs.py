"""Logging set-up: one record per line on stderr, as text or as JSON.

Every record carries `request_id` (the request it was written for, `-` outside a request) and
`pid`, added by a filter on the handler, so third-party loggers (uvicorn, asyncpg) get them too.

- text: `2026-12-05 08:00:00,123 INFO bastion.access [3f2a...]: 203.0.113.7 "GET /..." 200 ...`
- json: one object per line with exactly the keys `time` (ISO 8601, UTC, milliseconds),
  `level`, `logger`, `message`, `request_id` (null outside a request), `pid`, plus `exception`
  (the formatted traceback) when there is one. A message never spans lines in JSON: newlines
  are escaped by the encoder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Literal, TextIO

from typing_extensions import override

from bastion.observability.request_id import current_request_id

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `pid` to every record that passes through the handler."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        record.request_id = request_id if request_id is not None else "-"
        record.json_request_id = request_id
        record.pid = os.getpid()
        return True


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, with the date and time part of `asctime` computed once a second (the
    access log writes a line per request; `time.strftime` was a good part of each)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second = -1
        self._second_text = ""

    @override
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._second_text},{int(record.msecs):03d}"  # logging's "%s,%03d"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for its keys)."""

    @override
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "json_request_id", current_request_id()),
            "pid": getattr(record, "pid", os.getpid()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing `log_format` lines to `stream` (stderr when None)."""
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    return handler


def setup_logging(level: str, log_format: LogFormat = "text") -> None:
    """Configure the root logger once for the whole process."""
    logging.basicConfig(
        level=getattr(logging, level.upper()), handlers=[log_handler(log_format)], force=True
    )
