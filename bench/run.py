"""One bench run: the scenarios in order, their figures and notes, and a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench.baseline import run_baseline
from bench.initial_sync import run_initial_sync
from bench.latency import run_latency
from bench.orders import count_views, round_trip
from bench.profiling import Profiler
from bench.progress import say
from bench.rebuild import run_rebuild
from bench.sandbox import Sandbox
from bench.services import SERVICES, Services
from bench.throughput import run_throughput
from sync_service.connectivity import check_database, check_kafka
from sync_service.db.engine import create_engine
from sync_service.kafka_access import client_options

__all__ = ["FIGURES", "RESULTS", "Plan", "Run", "run_bench"]

RESULTS: Final = Path(__file__).resolve().parent / "results"
NEEDS_SERVICES: Final = frozenset({"throughput", "latency", "memory"})
FIGURES: Final = (
    "orders_per_s", "raw_msgs_per_s",
    "p50_submit_to_scm_ms", "p95_submit_to_scm_ms", "p99_submit_to_scm_ms",
    "p50_submit_to_view_ms", "p95_submit_to_view_ms", "p99_submit_to_view_ms",
    "rss_mb", "rebuild_events_per_s", "initial_sync_records_per_s",
)  # fmt: skip
"""The headline figures of the results file (null when their scenario did not run)."""


@dataclass
class Plan:
    """What one run does, from the command line."""

    scenarios: list[str]
    sizes: dict[str, Any]
    timeouts: dict[str, float]
    out: Path
    keep: bool
    profile: bool
    smoke: bool

    def parameters(self) -> dict[str, Any]:
        """What the results file records about the run's settings."""
        return {
            "smoke": self.smoke,
            "scenarios": self.scenarios,
            "baseline_messages": self.sizes["messages"],
            "throughput_orders": self.sizes["orders"],
            "latency_rate_per_s": self.sizes["rate"],
            "latency_duration_s": self.sizes["duration"],
            "initial_sync_rows": self.sizes["initial_rows"],
            "timeouts_s": self.timeouts,
            "services": list(SERVICES),
            "order_lines": 3,
        }


@dataclass
class Run:
    """One bench run: the sandbox, the services, and what the scenarios found."""

    plan: Plan
    sandbox: Sandbox
    services: Services
    figures: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(FIGURES))
    details: dict[str, Any] = field(default_factory=lambda: {"notes": []})
    failed: list[str] = field(default_factory=list)
    oneshot_rss: dict[str, float] = field(default_factory=dict)
    profile_dir: Path = field(
        default_factory=lambda: RESULTS / "profiles" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    )

    def note(self, text: str) -> None:
        say(f"note: {text}")
        self.details["notes"].append(text)

    async def scenario(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run one scenario; a failure is recorded and the next scenario still runs."""
        if name not in self.plan.scenarios:
            return
        say(f"== {name}")
        try:
            await work()
        except Exception as exc:
            self.failed.append(name)
            self.note(f"{name} failed: {type(exc).__name__}: {exc}")

    async def baseline(self) -> None:
        result = await run_baseline(
            self.sandbox.settings, self.plan.sizes["messages"], self.plan.timeouts["baseline"]
        )
        self.figures["raw_msgs_per_s"] = round(result.msgs_per_s, 1)
        self.details["baseline"] = result.as_dict()
        if result.timed_out:
            self.note(f"baseline timed out: {result.received}/{result.messages} messages")

    async def start_services(self) -> None:
        say(f"starting services {', '.join(SERVICES)} (logs in {self.services.log_dir})")
        self.services.start(self.sandbox.env())
        await self.services.wait_api_ready(self.sandbox.api_url)
        took = await round_trip(
            self.sandbox.settings, self.sandbox.api_url, self.sandbox.admin_token, 90.0
        )
        say(f"services ready: a warm-up order went through in {took:.1f}s")

    @contextlib.asynccontextmanager
    async def profiled(self, phase: str) -> AsyncIterator[None]:
        """With `--profile`: py-spy on every service while the block runs."""
        if not self.plan.profile:
            yield
            return
        profiler = Profiler(self.profile_dir / phase)
        profiler.start(self.services.pids())
        say(f"profiling the services with py-spy into {profiler.out_dir}")
        try:
            yield
        finally:
            self._profiled(phase, await asyncio.to_thread(profiler.stop))

    def _profiled(self, phase: str, hot_spots: dict[str, Any]) -> None:
        if hot_spots:
            profile = self.details.setdefault("profile", {"directory": str(self.profile_dir)})
            profile[phase] = hot_spots

    async def throughput(self) -> None:
        async with self.profiled("throughput"):
            result = await run_throughput(
                self.sandbox.settings, self.plan.sizes["orders"], self.plan.timeouts["throughput"]
            )
        self.figures["orders_per_s"] = round(result.orders_per_s, 1)
        self.details["throughput"] = result.as_dict()
        if result.timed_out:
            self.note(
                f"throughput timed out after {result.elapsed_s:.0f}s: {result.on_scm} on SCM, "
                f"{result.in_view} in view of {result.orders}; the rate is the one reached"
            )
            if not await self._drained(result.views_target) and "latency" in self.plan.scenarios:
                await self.fresh_pipeline()

    async def _drained(self, views_target: int) -> bool:
        """Wait a while for the throughput backlog to clear; whether it did."""
        limit = self.plan.timeouts["drain"]
        say(f"waiting up to {limit:g}s for the throughput backlog to clear")
        engine = create_engine(self.sandbox.settings.database_url)
        try:
            deadline = time.monotonic() + limit
            while await count_views(engine) < views_target:
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.5)
            return True
        finally:
            await engine.dispose()

    async def fresh_pipeline(self) -> None:
        """Services on new, empty topics: a backlog left behind must not count as latency."""
        self.note("throughput backlog not cleared: latency runs on fresh topics and services")
        await asyncio.to_thread(self.services.stop)
        await self.sandbox.renew_topics()
        await self.start_services()

    async def latency(self) -> None:
        sizes = self.plan.sizes
        async with self.profiled("latency"):
            result = await run_latency(
                self.sandbox.settings,
                self.sandbox.api_url,
                self.sandbox.admin_token,
                rate=sizes["rate"],
                duration_s=sizes["duration"],
                drain_s=self.plan.timeouts["drain"],
            )
        figures = result.figures()
        for key in FIGURES:
            if key in figures:
                self.figures[key] = figures[key]
        self.details["latency"] = result.as_dict()
        if result.missing_on_scm or result.missing_in_view:
            self.note(
                f"latency: {result.missing_on_scm} orders not on SCM and {result.missing_in_view}"
                f" not in view after the drain time; they count with the time waited (lower bound)"
            )
        if result.in_view_but_unseen:
            self.note(
                f"latency: {result.in_view_but_unseen} of the orders not seen by the polling were"
                " in the view at the end (projected too far below newer ones to be caught)"
            )
        if result.refused:
            self.note(
                f"latency: {result.refused} of {result.offered} orders refused or unanswered"
                " (not in the percentiles)"
            )
        if result.max_send_lag_ms > 100:
            self.note(
                f"latency: the bench fell up to {result.max_send_lag_ms:.0f} ms behind its send"
                " schedule (the machine was saturated)"
            )

    async def rebuild(self) -> None:
        result = await run_rebuild(
            self.sandbox.settings,
            self.sandbox.env(),
            self.plan.timeouts["rebuild"],
            self.profile_dir / "rebuild" if self.plan.profile else None,
        )
        self._profiled("rebuild", result.hot_spots)
        self.figures["rebuild_events_per_s"] = round(result.events_per_s, 1)
        self.details["rebuild"] = result.as_dict()
        self.oneshot_rss["projections-rebuild"] = result.peak_rss_mb
        if result.timed_out:
            self.note(
                f"rebuild stopped at its time limit after {result.replayed} of "
                f"{result.events_in_store} events; the rate is the one reached"
            )

    async def initial_sync(self) -> None:
        result = await run_initial_sync(
            self.sandbox.env(),
            self.plan.sizes["initial_rows"],
            self.plan.timeouts["initial-sync"],
            self.profile_dir / "initial-sync" if self.plan.profile else None,
        )
        self._profiled("initial-sync", result.hot_spots)
        self.figures["initial_sync_records_per_s"] = round(result.records_per_s, 1)
        self.details["initial_sync"] = result.as_dict()
        self.oneshot_rss["initial-sync"] = result.peak_rss_mb
        if result.timed_out:
            self.note(
                f"initial sync stopped at its time limit after {result.processed} of "
                f"{result.rows} rows; the rate is the one reached"
            )
        elif result.not_loaded:
            self.note(f"initial sync: {result.not_loaded} rows dead-lettered or parked")

    async def memory(self) -> None:
        memory = self.services.memory()
        if not memory:
            raise RuntimeError("no service process was measured")
        self.figures["rss_mb"] = {
            **{name: round(peak, 1) for name, (peak, _) in memory.items()},
            **{name: round(peak, 1) for name, peak in self.oneshot_rss.items()},
        }
        self.details["rss_current_mb"] = {name: round(now, 1) for name, (_, now) in memory.items()}

    async def execute(self) -> None:
        """Every chosen scenario; the one-off commands run with the services stopped."""
        await self.scenario("baseline", self.baseline)
        if NEEDS_SERVICES & set(self.plan.scenarios):
            await self.start_services()
            await self.scenario("throughput", self.throughput)
            await self.scenario("latency", self.latency)
            # The services' peaks are read as they stop; with them gone, a backlog they would
            # still be working off does not take CPU from the one-off commands.
            say("stopping the services")
            await asyncio.to_thread(self.services.stop)
        await self.scenario("initial-sync", self.initial_sync)
        # Last, so that it replays everything the others stored, the initial sync's too.
        await self.scenario("rebuild", self.rebuild)
        await self.scenario("memory", self.memory)


async def _watch_services(services: Services, main: asyncio.Task[Any], died: list[str]) -> None:
    """Stop the run at once when a service process dies, rather than waiting for timeouts."""
    while True:
        await asyncio.sleep(1.0)
        try:
            services.check_alive()
        except RuntimeError as exc:
            died.append(str(exc))
            main.cancel()
            return


async def run_bench(plan: Plan, sandbox: Sandbox, services: Services) -> Run:
    """Every chosen scenario in `sandbox` with `services`; the sandbox is removed at the end."""
    settings = sandbox.settings
    await check_kafka(settings.kafka_bootstrap, 10.0, client_options(settings, "admin"))
    await check_database(sandbox.base.database_url, 10.0)
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    run = Run(plan, sandbox, services)
    run.details["load_average_1m_at_start"] = round(os.getloadavg()[0], 2)
    died: list[str] = []
    watchdog = asyncio.create_task(_watch_services(services, main, died))
    try:
        say(f"creating database {sandbox.database} and topics {settings.topic_prefix}*")
        await sandbox.create()
        await run.execute()
    except asyncio.CancelledError:
        if died:
            raise RuntimeError(died[0]) from None
        raise
    finally:
        watchdog.cancel()
        await asyncio.to_thread(services.stop)
        if plan.keep:
            say(f"kept database {sandbox.database}, topics {', '.join(sandbox.prefixes)}*")
        else:
            await sandbox.remove()
    return run
