"""Scenario 2, pipeline throughput: N SubmitOrder commands straight into portal.commands.v1.

Timed from the first send until every order is on scm.salesorders.v1 (a consumer collecting
order ids) and in the projection (the `order_views` count, polled every 50 ms). The commands are
built and serialised before the clock starts, and sent by a batching producer, so that what is
measured is the pipeline: command processor, relay, outbound mapping and projections.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaProducer

from bench.orders import ScmWatch, count_views, submit_order_record
from bench.progress import say
from contracts.topics import PORTAL_COMMANDS
from sync_service.db.engine import create_engine
from sync_service.kafka_access import client_options
from sync_service.settings import Settings

__all__ = ["ThroughputResult", "run_throughput"]

POLL_S: Final = 0.05
FEEDER: Final = {"acks": "all", "linger_ms": 5, "max_batch_size": 512 * 1024}


@dataclass
class ThroughputResult:
    """What the throughput run measured."""

    orders: int
    on_scm: int
    in_view: int
    send_s: float
    to_scm_s: float | None
    to_view_s: float | None
    elapsed_s: float
    timed_out: bool
    views_target: int
    """The order_views count once every order of the run is in the view."""

    @property
    def orders_per_s(self) -> float:
        """Orders through the whole pipeline per second (so far, if it timed out)."""
        done = min(self.on_scm, self.in_view)
        return done / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures for the results file."""
        return {
            "orders": self.orders,
            "orders_on_scm": self.on_scm,
            "orders_in_view": self.in_view,
            "send_s": round(self.send_s, 3),
            "to_scm_s": None if self.to_scm_s is None else round(self.to_scm_s, 3),
            "to_view_s": None if self.to_view_s is None else round(self.to_view_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "timed_out": self.timed_out,
            "feeder": FEEDER,
        }


async def run_throughput(settings: Settings, orders: int, timeout_s: float) -> ThroughputResult:
    """Feed `orders` commands and wait until all are on SCM and in the view (or `timeout_s`)."""
    say(f"throughput: building {orders} SubmitOrder commands")
    signer = settings.command_signer()  # the sandbox's key, which its processor verifies with
    records = [submit_order_record(number, signer) for number in range(orders)]
    wanted = {str(record.order_id) for record in records}
    engine = create_engine(settings.database_url)
    watch = ScmWatch(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_idempotence=True,
        **FEEDER,
        **client_options(settings, "api"),  # commands, as the API puts them
    )
    await producer.start()
    await watch.start()
    try:
        views_before = await count_views(engine)
        topic = settings.topic(PORTAL_COMMANDS)
        say(f"throughput: sending {orders} orders to {topic}")
        start = time.monotonic()
        epoch_start = time.time()
        sent = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
        await asyncio.gather(*sent)
        send_s = time.monotonic() - start
        say(f"throughput: all sent in {send_s:.1f}s; waiting for SCM and the view")
        to_view_s: float | None = None
        in_view = on_scm = 0
        last_report = start
        deadline = start + timeout_s
        while True:
            now = time.monotonic()
            in_view = min(orders, await count_views(engine) - views_before)
            on_scm = watch.count(wanted)
            if to_view_s is None and in_view >= orders:
                to_view_s = time.monotonic() - start
            if on_scm >= orders and to_view_s is not None:
                break
            if now > deadline:
                break
            if now - last_report >= 2.0:
                last_report = now
                rate = min(on_scm, in_view) / (now - start)
                say(f"throughput: {on_scm}/{orders} on SCM, {in_view} in view, {rate:.0f}/s")
            await asyncio.sleep(POLL_S)
        to_scm_s = None
        if on_scm >= orders:
            # The newest SCM arrival, on the wall clock the Kafka timestamps use.
            to_scm_s = max(watch.arrived[order_id] for order_id in wanted) - epoch_start
        timed_out = on_scm < orders or in_view < orders
        done_s = max(to_scm_s or 0.0, to_view_s or 0.0)
        elapsed = time.monotonic() - start if timed_out else done_s
        return ThroughputResult(
            orders, on_scm, in_view, send_s, to_scm_s, to_view_s, elapsed, timed_out,
            views_before + orders,
        )  # fmt: skip
    finally:
        await watch.stop()
        await producer.stop()
        await engine.dispose()
