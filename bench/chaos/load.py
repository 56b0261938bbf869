"""The chaos run's load: orders through the HTTP API from clients that retry as a careful one does.

Each order has an Idempotency-Key of its own and a requisition number `CHAOS-<n>` (so that the
store can be searched for a second copy of one client's order). On a connection error, a
timeout, 503 or another 5xx the client sends the same request (same key, same body) to the other
API replica after a backoff that doubles up to a cap (a Retry-After longer than the backoff is
honoured up to the cap), until `retry_for_s` has passed since its first try. Orders are offered
at a fixed rate with at most `concurrency` of them in flight; every answer is counted by status,
retries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import httpx

from bench.chaos.callers import Caller
from bench.orders import order_body

__all__ = ["ClientOrder", "Load", "LoadPlan", "requisition_number", "run_load"]

BACKOFF_FIRST_S: Final = 0.1
BACKOFF_CAP_S: Final = 2.0
CONNECTION_ERROR: Final = "connection error"
TIMEOUT: Final = "timeout"
_EXAMPLES: Final = 5

Outcome = Literal["unsent", "accepted", "refused", "gave up"]


def requisition_number(number: int) -> str:
    """The requisition number of the `number`th order: one client order, one number."""
    return f"CHAOS-{number}"


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How many orders, how fast, how many at once, and how patient each client is."""

    orders: int
    rate: float
    concurrency: int
    retry_for_s: float
    request_timeout_s: float

    @property
    def span_s(self) -> float:
        """How long offering every order takes at `rate`."""
        return self.orders / self.rate


@dataclass(slots=True)
class ClientOrder:
    """One order as its client saw it: the key it sent and what finally came back."""

    number: int
    caller: str
    key: str
    order_id: str | None = None
    outcome: Outcome = "unsent"
    attempts: int = 0
    last_answer: str | None = None


@dataclass
class Load:
    """The orders, every answer counted by status (or error), and the first few answers 500."""

    plan: LoadPlan
    orders: list[ClientOrder] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    examples_500: list[str] = field(default_factory=list)
    improper_503: int = 0
    """503s without Retry-After or not a problem (application/problem+json)."""
    sent: int = 0
    started: float = 0.0
    """Monotonic time the first order was offered (the run's clock may set it beforehand)."""
    elapsed_s: float = 0.0

    def count(self, outcome: Outcome) -> int:
        """How many orders ended with `outcome`."""
        return sum(1 for order in self.orders if order.outcome == outcome)

    def accepted_ids(self) -> dict[str, ClientOrder]:
        """Order id -> the client order that was accepted as it."""
        return {o.order_id: o for o in self.orders if o.outcome == "accepted" and o.order_id}


def _body(number: int, caller: Caller) -> dict[str, Any]:
    body = order_body(number)
    body["requisition_number"] = requisition_number(number)
    if not caller.admin:
        # Everybody but an Administrator orders for the customer of their own contact record.
        del body["company"], body["customer_account"]
    return body


def _proper_503(answer: httpx.Response) -> bool:
    # SPEC §10: while Kafka or PostgreSQL is down the API answers 503 with Retry-After.
    problem = answer.headers.get("content-type", "").startswith("application/problem+json")
    return problem and "Retry-After" in answer.headers


def _backoff(attempt: int, answer: httpx.Response | None) -> float:
    delay = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2.0 ** min(attempt, 10))
    if answer is not None:
        with contextlib.suppress(ValueError):
            delay = max(delay, min(BACKOFF_CAP_S, float(answer.headers.get("Retry-After", 0))))
    jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    return delay * jitter


async def _submit(
    load: Load,
    order: ClientOrder,
    body: dict[str, Any],
    caller: Caller,
    clients: Sequence[httpx.AsyncClient],
) -> None:
    headers = {**caller.headers, "Idempotency-Key": order.key}
    replica = order.number % len(clients)
    give_up = time.monotonic() + load.plan.retry_for_s
    while True:
        order.attempts += 1
        answer: httpx.Response | None = None
        try:
            answer = await clients[replica].post("/orders", json=body, headers=headers)
        except httpx.TimeoutException:
            load.answers[TIMEOUT] += 1
            order.last_answer = TIMEOUT
        except httpx.TransportError as exc:
            order.last_answer = f"{CONNECTION_ERROR} ({type(exc).__name__})"
            load.answers[order.last_answer] += 1
        else:
            status = answer.status_code
            load.answers[str(status)] += 1
            order.last_answer = f"{status}: {answer.text[:200]}"
            if status == 503 and not _proper_503(answer):
                load.improper_503 += 1
            if status == 500 and len(load.examples_500) < _EXAMPLES:
                at = time.monotonic() - load.started
                load.examples_500.append(f"{at:.1f}s, api-{replica + 1}: {answer.text[:300]}")
            if status == 202:
                order.order_id, order.outcome = answer.json()["order_id"], "accepted"
                return
            if status < 500:
                order.outcome = "refused"  # an answer about the order itself: no retry helps
                return
        if time.monotonic() >= give_up:
            order.outcome = "gave up"
            return
        await asyncio.sleep(_backoff(order.attempts - 1, answer))
        replica = (replica + 1) % len(clients)


async def run_load(api_urls: Sequence[str], callers: Sequence[Caller], load: Load) -> None:
    """Offer `load.plan.orders` orders at its rate; fills `load` as answers come back."""
    plan = load.plan
    limits = httpx.Limits(
        max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency
    )
    in_flight = asyncio.Semaphore(plan.concurrency)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=plan.request_timeout_s)
            )
            for url in api_urls
        ]

        async def one(order: ClientOrder, body: dict[str, Any], caller: Caller) -> None:
            try:
                await _submit(load, order, body, caller, clients)
            finally:
                in_flight.release()

        tasks: list[asyncio.Task[None]] = []
        start = load.started = load.started or time.monotonic()
        for number in range(plan.orders):
            caller = callers[number % len(callers)]
            order = ClientOrder(number, caller.name, str(uuid.uuid4()))
            load.orders.append(order)
            delay = start + number / plan.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await in_flight.acquire()
            load.sent += 1
            tasks.append(asyncio.create_task(one(order, _body(number, caller), caller)))
        await asyncio.gather(*tasks)
        load.elapsed_s = time.monotonic() - start
