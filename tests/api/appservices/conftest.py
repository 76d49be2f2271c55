"""The application service tests' fixtures: a real endpoint for the `bridge` registration
(appservice_server.py) and the config registering it and `ops` (appservice_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.appservice_fixtures import appservice_config
from tests.api.appservice_server import FakeAppService, running_appservice


@pytest.fixture
def appservice() -> Iterator[FakeAppService]:
    yield from running_appservice()


@pytest.fixture
def config_overrides(tmp_path: Path, appservice: FakeAppService) -> dict[str, Any]:
    return appservice_config(tmp_path, appservice.url)
