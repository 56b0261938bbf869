"""One chaos run from start to verdict: sandbox, fleet, sign-in, load with faults, drain, checks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from bench.chaos.callers import sign_in
from bench.chaos.drain import drain
from bench.chaos.evidence import admin_view, erp_numbers, scm_records, store_facts
from bench.chaos.faults import FaultPlan, run_faults
from bench.chaos.fleet import Fleet
from bench.chaos.load import Load, LoadPlan, run_load
from bench.chaos.rebuilt import compare_with_rebuild
from bench.chaos.verdict import Verdict, judge
from bench.oneshot import run_oneshot
from bench.private_stack import Part, PrivateStack
from bench.progress import say
from bench.sandbox import Sandbox, free_port
from bench.services import DUALSYNC
from sync_service.connectivity import check_database, check_kafka
from sync_service.db.engine import create_engine
from sync_service.erp_sim.lifecycle import StatusDelays
from sync_service.kafka_access import client_options
from sync_service.settings import Settings

__all__ = ["ChaosPlan", "base_settings", "run_chaos"]

_READY_TIMEOUT_S: Final = 90.0
_PROGRESS_EVERY_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class ChaosPlan:
    """Everything one run is told: load, faults, the ERP's pace, and its time limits."""

    load: LoadPlan
    faults: FaultPlan
    restart_after_s: float
    erp_delays: StatusDelays
    drain_timeout_s: float
    rebuild_timeout_s: float

    def parameters(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {
            "orders": self.load.orders, "rate_per_s": self.load.rate,
            "concurrency": self.load.concurrency, "retry_for_s": self.load.retry_for_s,
            "request_timeout_s": self.load.request_timeout_s, "kills": self.faults.kills,
            "restart": list(self.faults.restart), "outage_s": self.faults.outage_s,
            "seed": self.faults.seed, "restart_after_s": self.restart_after_s,
            "erp_delays_s": [self.erp_delays.confirm_after, self.erp_delays.ship_after,
                             self.erp_delays.invoice_after],
            "drain_timeout_s": self.drain_timeout_s,
        }  # fmt: skip

    def erp_sim_args(self) -> list[str]:
        """`dualsync erp-sim` options for the plan's pace (seconds; 0 skips a step)."""
        delays = self.erp_delays
        return [
            "--confirm-after", f"{delays.confirm_after:g}s",
            "--ship-after", f"{delays.ship_after:g}s",
            "--invoice-after", f"{delays.invoice_after:g}s",
        ]  # fmt: skip


def base_settings(stack: PrivateStack | None, parts: tuple[Part, ...]) -> Settings:
    """The environment's settings, but `parts` (those the run restarts) on its private stack."""
    settings = Settings()
    update: dict[str, Any] = {}
    if stack is not None and "kafka" in parts:
        update["kafka_bootstrap"] = stack.kafka_bootstrap
        update["kafka_passwords"] = stack.kafka_passwords()
    if stack is not None and "postgres" in parts:
        update["database_url"] = stack.database_url
    return settings.model_copy(update=update)


async def _ready(fleet: Fleet, urls: list[str]) -> None:
    """Until every API answers /readyz with 200; an exit on the way is a failure of the setup."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        for url in urls:
            while True:
                fleet.check()
                if fleet.exits:
                    first = fleet.exits[0]
                    raise RuntimeError(
                        f"{first.replica} exited with status {first.status} while starting; "
                        f"{first.log} ends:\n{first.tail}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the API at {url} was not ready in {_READY_TIMEOUT_S:g}s")
                await asyncio.sleep(0.2)


async def _progress(load: Load, fleet: Fleet, plan: ChaosPlan) -> None:
    while True:
        await asyncio.sleep(_PROGRESS_EVERY_S)
        answers = ", ".join(f"{k} {v}" for k, v in sorted(load.answers.items()))
        say(
            f"chaos: {load.sent}/{plan.load.orders} orders sent, "
            f"{load.count('accepted')} accepted; answers: {answers or '-'}; "
            f"kills {len(fleet.kills)}/{plan.faults.kills}, exits not killed {len(fleet.exits)}"
        )


async def _setup(sandbox: Sandbox, plan: ChaosPlan, log_dir: Path) -> Fleet:
    settings = sandbox.settings
    await check_kafka(settings.kafka_bootstrap, 10.0, client_options(settings, "admin"))
    await check_database(sandbox.base.database_url, 10.0)
    say(f"chaos: creating database {sandbox.database} and topics {settings.topic_prefix}*")
    await sandbox.create()
    # What `make run` does besides seed-demo: the ERP's side of the demo data.
    published = await run_oneshot([DUALSYNC, "erp-sim", "publish-demo"], sandbox.env(), 60.0)
    if published.returncode != 0:
        raise RuntimeError("erp-sim publish-demo failed:\n" + "\n".join(published.stderr_lines))
    ports = [settings.api_port, free_port(settings.api_host)]
    fleet = Fleet.plan(sandbox.env(), ports, plan.erp_sim_args(), log_dir, plan.restart_after_s)
    say(f"chaos: starting {len(fleet.replicas)} processes (logs in {log_dir})")
    fleet.start()
    return fleet


async def _verdict(
    sandbox: Sandbox, plan: ChaosPlan, urls: list[str], load: Load, verdict: Verdict
) -> None:
    settings = sandbox.settings
    engine = create_engine(settings.database_url)
    try:
        say(f"chaos: draining (up to {plan.drain_timeout_s:g}s)")
        verdict.drain = await drain(settings, engine, plan.erp_delays, plan.drain_timeout_s)
        say(f"chaos: drain {'done' if verdict.drain.drained else 'timed out'} "
            f"after {verdict.drain.waited_s:.1f}s; checking every order")  # fmt: skip
        facts = await store_facts(engine)
        scm = await scm_records(settings)
        view = await admin_view(urls, sandbox.admin_token)
        numbers = await erp_numbers(engine)
        verdict.figures = judge(load, facts, scm, view, numbers)
        say("chaos: comparing the views with `dualsync projections rebuild`")
        verdict.rebuild = await compare_with_rebuild(engine, sandbox.env(), plan.rebuild_timeout_s)
    finally:
        await engine.dispose()


async def run_chaos(
    plan: ChaosPlan, sandbox: Sandbox, stack: PrivateStack | None, log_dir: Path
) -> Verdict:
    """The whole run; the caller removes the sandbox and kills leftovers."""
    started = time.monotonic()
    verdict = Verdict(parameters=plan.parameters())
    fleet = await _setup(sandbox, plan, log_dir)
    supervising = asyncio.create_task(fleet.supervise())
    load = Load(plan.load)
    try:
        urls = [f"http://{sandbox.settings.api_host}:{r.env['DUALSYNC_API_PORT']}"
                for r in fleet.replicas.values() if r.name.startswith("api-")]  # fmt: skip
        await _ready(fleet, urls)
        callers = await sign_in(urls[0], sandbox.admin_token)
        say(
            f"chaos: {plan.load.orders} orders at {plan.load.rate:g}/s as "
            f"{', '.join(c.name for c in callers)}; {plan.faults.kills} kills (seed "
            f"{plan.faults.seed}); restarts: {', '.join(plan.faults.restart) or 'none'}"
        )
        # One clock for the verdict: kills, outages, exits and answers, from the first order.
        load_start = fleet.started = load.started = time.monotonic()
        progress = asyncio.create_task(_progress(load, fleet, plan))
        faults = asyncio.create_task(run_faults(plan.faults, fleet, stack))
        try:
            await run_load(urls, callers, load)
            verdict.timings["load_s"] = time.monotonic() - load_start
            verdict.outages = await faults
        finally:
            progress.cancel()
            faults.cancel()
        say(f"chaos: load done in {verdict.timings['load_s']:.1f}s: "
            f"{load.count('accepted')}/{plan.load.orders} accepted")  # fmt: skip
        await _verdict(sandbox, plan, urls, load, verdict)
        fleet.check()
    finally:
        supervising.cancel()
        await asyncio.gather(supervising, return_exceptions=True)
        verdict.kills, verdict.exits = fleet.kills, fleet.exits
        verdict.answers, verdict.examples_500 = dict(load.answers), load.examples_500
        await asyncio.to_thread(fleet.stop)
    verdict.timings["total_s"] = time.monotonic() - started
    return verdict
