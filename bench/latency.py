"""Scenario 3, latency at a fixed load: orders offered through the HTTP API on a fixed schedule.

Open loop: the `i`th `POST /orders` is due at t0 + i / rate whether or not earlier ones have
been answered (each is a task of its own over a pool of keep-alive connections), and that due
time is its submit time, so that waiting for a free connection counts as latency too.
Submit -> SCM uses the Kafka timestamp of the order's record on scm.salesorders.v1. Submit ->
view: `GET /orders` (newest first) is polled every `poll_s`; an order's first sight is stamped
when the answer that shows it arrives, so the figure includes one listing request and has the
polling period as its resolution. Pages further down are read while they hold new orders or
orders still awaited may be there (see _ViewPoller); orders never caught are checked one by
one at the end, so that the result can say whether they were projected at all.

Orders that have not arrived when the drain time is up count with the time waited so far, so
that a percentile is never flattered by leaving the slow ones out (the result says how many).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import httpx

from bench.orders import ScmWatch, order_body
from bench.progress import say
from sync_service.settings import Settings

__all__ = ["LatencyResult", "percentile", "run_latency"]

IN_FLIGHT: Final = 100
PAGE: Final = 10  # small: the polling must not be what keeps the API busy
DEEP_PAGE: Final = 100  # the pages below the first, read only while orders are awaited there
MAX_PAGES: Final = 30
POLL_BUDGET_S: Final = 2.0  # one poll's page-following stops after this, to poll afresh
SLACK_S: Final = 1.0  # an order's submitted_at in the view is at or after its submit time


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..100) of `values`; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LatencyResult:
    """What the latency run measured, in milliseconds."""

    rate: float
    duration_s: float
    offered: int
    accepted: int
    refused: int
    achieved_rate: float
    max_send_lag_ms: float
    poll_period_ms: float
    poll_errors: int
    submit_to_scm_ms: list[float]
    submit_to_view_ms: list[float]
    submit_to_202_ms: list[float]
    missing_on_scm: int
    missing_in_view: int
    in_view_but_unseen: int
    """Of those missing in view, how many `GET /orders/{id}` shows at the end (polling missed)."""
    errors: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """Percentiles and parameters for the results file."""
        out: dict[str, Any] = {}
        for name, values in (
            ("submit_to_scm_ms", self.submit_to_scm_ms),
            ("submit_to_view_ms", self.submit_to_view_ms),
            ("submit_to_202_ms", self.submit_to_202_ms),
        ):
            for share in (50, 95, 99):
                out[f"p{share}_{name}"] = round(percentile(values, share), 1)
        return out

    def as_dict(self) -> dict[str, Any]:
        """Parameters and counts for the results file."""
        return {
            "rate_per_s": self.rate,
            "duration_s": self.duration_s,
            "offered": self.offered,
            "accepted": self.accepted,
            "refused": self.refused,
            "achieved_rate_per_s": round(self.achieved_rate, 1),
            "max_send_lag_ms": round(self.max_send_lag_ms, 1),
            "view_poll_period_ms": round(self.poll_period_ms, 1),
            "view_poll_errors": self.poll_errors,
            "view_page_size": PAGE,
            "missing_on_scm": self.missing_on_scm,
            "missing_in_view": self.missing_in_view,
            "in_view_but_unseen_by_polling": self.in_view_but_unseen,
            "errors": self.errors[:5],
            **self.figures(),
        }


@dataclass
class _ViewPoller:
    """Polls `GET /orders` and stamps the first sight of every order id.

    Newest first, page by page: the next page is read while the page held new orders, or while
    it has not yet gone back past the submit time of the oldest order still awaited (an order
    projected late sits below newer ones that were seen already).
    """

    client: httpx.AsyncClient
    period_s: float
    seen: dict[str, float] = field(default_factory=dict)
    awaited: list[tuple[float, str]] = field(default_factory=list)
    """(submit time, order id) of the bench's orders, in the order their 202s came back."""
    polls: int = 0
    errors: int = 0
    started: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _first_unseen: int = 0

    def _oldest_awaited(self) -> float | None:
        while self._first_unseen < len(self.awaited):
            submitted, order_id = self.awaited[self._first_unseen]
            if order_id not in self.seen:
                return submitted
            self._first_unseen += 1
        return None

    async def _page(self, cursor: str | None) -> tuple[list[str], float | None, str | None, float]:
        params: dict[str, Any] = {"limit": DEEP_PAGE if cursor else PAGE}
        if cursor:
            params["cursor"] = cursor
        response = await self.client.get("/orders", params=params)
        stamp = time.time()
        response.raise_for_status()
        page = response.json()
        items = page["items"]
        oldest = datetime.fromisoformat(items[-1]["submitted_at"]).timestamp() if items else None
        return [item["order_id"] for item in items], oldest, page["next_cursor"], stamp

    async def poll_once(self, pages: int = MAX_PAGES) -> None:
        cursor = None
        budget = time.monotonic() + POLL_BUDGET_S
        for _ in range(pages):
            ids, oldest_on_page, cursor, stamp = await self._page(cursor)
            new = [order_id for order_id in ids if order_id not in self.seen]
            for order_id in new:
                self.seen[order_id] = stamp
            if new:
                self.changed.set()
            if not cursor or oldest_on_page is None:
                return
            awaited = self._oldest_awaited()
            behind = awaited is not None and oldest_on_page >= awaited - SLACK_S
            if (not new and not behind) or time.monotonic() > budget:
                return

    async def run(self) -> None:
        self.started = time.monotonic()
        while True:
            tick = time.monotonic()
            try:
                await self.poll_once()
            except (httpx.HTTPError, ValueError, KeyError):  # an overloaded API: poll again
                self.errors += 1
            self.polls += 1
            await asyncio.sleep(max(0.0, self.period_s - (time.monotonic() - tick)))

    async def wait_for(self, order_ids: set[str], timeout_s: float) -> None:
        """Until every one of `order_ids` has been seen, or `timeout_s` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout_s)):
                while not order_ids <= self.seen.keys():
                    self.changed.clear()
                    await self.changed.wait()

    @property
    def mean_period_ms(self) -> float:
        elapsed = time.monotonic() - self.started
        return 1000 * elapsed / self.polls if self.polls else 0.0


async def _in_view_now(client: httpx.AsyncClient, order_ids: list[str]) -> int:
    """How many of `order_ids` `GET /orders/{id}` shows now (a check, not a timing)."""
    gate = asyncio.Semaphore(20)

    async def visible(order_id: str) -> bool:
        async with gate:
            try:
                return (await client.get(f"/orders/{order_id}")).status_code == 200
            except httpx.HTTPError:
                return False

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            return sum(await asyncio.gather(*(visible(i) for i in order_ids)))
    return 0


async def run_latency(
    settings: Settings,
    api_url: str,
    admin_token: str,
    *,
    rate: float,
    duration_s: float,
    drain_s: float,
    poll_s: float = 0.02,
) -> LatencyResult:
    """Offer `rate` orders/s through the API for `duration_s`; wait up to `drain_s` after.

    The wait covers the answers still outstanding and then the orders' arrival; a request not
    answered by then is abandoned and counted as refused.
    """
    headers = {"Authorization": f"Bearer {admin_token}"}
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    # At most IN_FLIGHT requests wait in the HTTP client; the others wait here, cheaply
    # (httpx's pool slows down badly with thousands of queued requests, and the bench with it).
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    submitted: dict[str, float] = {}
    answered: list[float] = []
    errors: list[str] = []
    lags: list[float] = []
    total = max(1, round(rate * duration_s))
    bodies = [order_body(number) for number in range(total)]
    watch = ScmWatch(settings)
    await watch.start()
    async with (
        httpx.AsyncClient(base_url=api_url, headers=headers, limits=limits, timeout=30) as client,
        httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10) as viewer,
    ):
        # Open the connections first, so that the first orders do not pay the TCP handshakes.
        await asyncio.gather(*(client.get("/healthz") for _ in range(min(total, 50))))
        poller = _ViewPoller(viewer, poll_s)
        await poller.poll_once(pages=1)  # what is already there is not ours
        polling = asyncio.create_task(poller.run())

        async def submit(body: dict[str, Any], start: float) -> None:
            try:
                async with in_flight:
                    response = await client.post("/orders", json=body)
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if response.status_code != 202:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                return
            answered.append(1000 * (time.time() - start))
            order_id = response.json()["order_id"]
            submitted[order_id] = start
            poller.awaited.append((start, order_id))

        say(f"latency: offering {rate:g} orders/s through {api_url} for {duration_s:g}s")
        tasks = []
        t0, wall_t0 = time.monotonic(), time.time()
        for number, body in enumerate(bodies):
            due = t0 + number / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(1000 * max(0.0, time.monotonic() - due))
            # Submitted at its scheduled time: waiting for a free connection counts as latency.
            tasks.append(asyncio.create_task(submit(body, wall_t0 + number / rate)))
            if number and number % max(1, round(rate * 5)) == 0:
                say(f"latency: {number}/{total} offered, {len(submitted)} accepted")
        spread = time.monotonic() - t0
        give_up = time.time() + drain_s
        say(f"latency: all offered; waiting up to {drain_s:g}s for answers, SCM and view")
        _, unanswered = await asyncio.wait(tasks, timeout=drain_s)
        for task in unanswered:
            task.cancel()
        await asyncio.gather(*unanswered, return_exceptions=True)
        if unanswered:
            errors.append(f"{len(unanswered)} requests unanswered after the drain time")
        wanted = set(submitted)
        await watch.wait_for(wanted, give_up - time.time())
        await poller.wait_for(wanted, give_up - time.time())
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await watch.stop()
        waited_until = time.time()
        unseen = [order_id for order_id in submitted if order_id not in poller.seen]
        in_view_unseen = await _in_view_now(viewer, unseen) if unseen else 0
    to_scm = [1000 * (watch.arrived.get(i, waited_until) - t) for i, t in submitted.items()]
    to_view = [1000 * (poller.seen.get(i, waited_until) - t) for i, t in submitted.items()]
    return LatencyResult(
        rate=rate,
        duration_s=duration_s,
        offered=total,
        accepted=len(submitted),
        refused=total - len(submitted),
        achieved_rate=(total - 1) / spread if spread > 0 and total > 1 else float(total),
        max_send_lag_ms=max(lags, default=0.0),
        poll_period_ms=poller.mean_period_ms,
        poll_errors=poller.errors,
        submit_to_scm_ms=to_scm,
        submit_to_view_ms=to_view,
        submit_to_202_ms=answered,
        missing_on_scm=len(wanted - watch.arrived.keys()),
        missing_in_view=len(unseen),
        in_view_but_unseen=in_view_unseen,
        errors=errors,
    )
