"""The console's integrations page: the application services the configuration registers,
their namespaces and whether their transactions get through (docs/subsystems/appservices.md),
in process, in English and Arabic. Never a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.services.appservices.client import Refused
from tests.api.appservice_fixtures import AS_TOKEN, HS_TOKEN, OPS_TOKEN, appservice_config
from tests.api.appservice_server import FakeAppService, running_appservice
from tests.conftest import Homeserver
from tests.console.client import ConsoleClient


@pytest.fixture
def appservice() -> Iterator[FakeAppService]:
    yield from running_appservice()


@pytest.fixture
def config_overrides(tmp_path: Path, appservice: FakeAppService) -> dict[str, Any]:
    return appservice_config(tmp_path, appservice.url)


def tokens_absent(html: str) -> None:
    for token in (AS_TOKEN, HS_TOKEN, OPS_TOKEN):
        assert token not in html


async def test_the_page_lists_each_service_and_its_delivery(
    hs: Homeserver, console: ConsoleClient, appservice: FakeAppService
) -> None:
    page = await console.get("/integrations")
    assert page.status_code == 200, page.text
    tokens_absent(page.text)
    assert 'href="/admin/integrations" aria-current="page"' in page.text  # in the navigation
    for text in (
        "<bdi>bridge</bdi>",
        "<bdi>@bridgebot:test.bastion</bdi>",
        r"<bdi>@_bridge_.*:test\.bastion</bdi>",
        "(exclusive)",
        f"<bdi>{appservice.url}</bdi>",
        "<bdi>ops</bdi>",
        "None: it only acts, it receives nothing",
        "Not started yet",
    ):
        assert text in page.text, text

    services = hs.runtime.services.appservices
    registration = services.registry.by_id("bridge")
    assert registration is not None
    await services.delivery.step(registration)  # the stream starts
    human = await hs.register_user("human")
    room_id = await human.create_room()
    invited = await human.post(
        f"/rooms/{room_id}/invite", json={"user_id": "@bridgebot:test.bastion"}
    )
    assert invited.status_code == 200, invited.text
    appservice.answer(503, {"errcode": "M_UNKNOWN"})
    with pytest.raises(Refused):
        await services.delivery.step(registration)
    page = await console.get("/integrations")
    assert "Failing since" in page.text
    assert "HTTP 503" in page.text
    assert "Events waiting: 1" in page.text
    tokens_absent(page.text)

    await services.delivery.step(registration)  # the retry gets through
    assert "Up to date" in (await console.get("/integrations")).text


async def test_the_page_in_arabic(console: ConsoleClient) -> None:
    await console.get("/language/ar", params={"next": "/admin/integrations"})
    page = await console.get("/integrations")
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert "عمليات التكامل" in page.text
    assert "حصري" in page.text
    tokens_absent(page.text)


async def test_signed_out_visitors_are_sent_to_sign_in(browser: ConsoleClient) -> None:
    resp = await browser.get("/integrations")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/login?next=/admin/integrations"
