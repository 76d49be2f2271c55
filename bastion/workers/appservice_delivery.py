"""The application service worker: runs `AppServiceDelivery` (services/appservices/delivery.py).

Each iteration starts the transaction loop of every registration with a URL whose loop is not
running (the first iteration starts them all; a later one restarts a loop that died of an
unexpected error); the loops wait for room events and retry on their own. Closing cancels them
(each resumes from its progress row) and closes the HTTP client.

Across processes one process delivers, the one holding the worker's lease for its life
(leased.py `Leased`): two senders of one registration would send a transaction twice and race
on its progress. Every process hears every `EventsPersisted` through the bus, so the holder
wakes for events sent anywhere.
"""

from __future__ import annotations

from bastion.services.appservices.delivery import AppServiceDelivery


class AppServiceWorker:
    """Drives one `AppServiceDelivery`."""

    name = "application services"

    def __init__(self, delivery: AppServiceDelivery) -> None:
        self._delivery = delivery

    async def run_once(self) -> None:
        self._delivery.dispatch()

    async def wait_next(self) -> None:
        await self._delivery.wait_for_work()

    async def close(self) -> None:
        await self._delivery.stop()
