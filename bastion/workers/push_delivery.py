"""The push delivery worker: runs `PushDelivery` (services/push/delivery/) in the background.

One iteration starts delivery for every user due now (woken after commit by the pipeline, or
whose retry time has come); each user's delivery is its own task, so the iteration returns at
once and one slow gateway never holds the others. Between iterations it waits for a wake-up or
the next retry time on the injected clock. Closing cancels deliveries in progress (each
pusher's progress is stored after every request, so the next run resumes) and closes the HTTP
client.

Across processes one process delivers, the one holding the worker's lease for its life
(leased.py `Leased`): two senders of one pusher would race on its progress and send a
notification twice, and deliveries are tasks that outlive an iteration, so a per-pass lease
would not cover them. Every process hears every `EventsPersisted` through the bus, so the holder
wakes for events sent anywhere; a new holder checks every user with a pusher at its start.
"""

from __future__ import annotations

from bastion.services.push.delivery.worker import PushDelivery


class PushDeliveryWorker:
    """Drives one `PushDelivery`."""

    name = "push delivery"

    def __init__(self, delivery: PushDelivery) -> None:
        self._delivery = delivery

    async def run_once(self) -> None:
        await self._delivery.dispatch()

    async def wait_next(self) -> None:
        await self._delivery.wait_for_work()

    async def close(self) -> None:
        await self._delivery.stop()
