"""Logging set-up: one line per record, to stderr, at the configured level."""

from __future__ import annotations

import logging


def setup_logging(level: str) -> None:
    """Configure the root logger once for the whole process."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
