"""The chaos run's faults: `kill -9` of random replicas at random moments, and outages.

Kills fall at random moments while the orders are offered (the fleet restarts each replica about
a second later). A Kafka restart comes at a third of that time and a PostgreSQL restart at two
thirds (or once Kafka is back, if that is later), each down for `outage_s`, on the run's private
stack (bench/private_stack.py): the shared stack is never stopped.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.fleet import Fleet
from bench.private_stack import Part, PrivateStack
from bench.progress import say

__all__ = ["FaultPlan", "Outage", "run_faults"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """How many kills over how long, which parts restart, and for how long they are down."""

    kills: int
    span_s: float
    restart: tuple[Part, ...]
    outage_s: float
    seed: int

    def kill_times(self) -> list[float]:
        """Seconds after the start of the load, sorted: random, within the load's span."""
        rng = random.Random(self.seed)  # noqa: S311 - a reproducible schedule, not a secret
        return sorted(rng.uniform(0.05, 0.95) * self.span_s for _ in range(self.kills))

    def outage_times(self) -> dict[Part, float]:
        """When each part goes down: Kafka at a third of the span, PostgreSQL at two thirds."""
        at = {"kafka": self.span_s / 3, "postgres": 2 * self.span_s / 3}
        return {part: at[part] for part in self.restart}


@dataclass(frozen=True, slots=True)
class Outage:
    """One restart of a part of the stack: when it went down and when it answered again."""

    part: Part
    down_at_s: float
    up_at_s: float

    def as_dict(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {"part": self.part, "down_at_s": round(self.down_at_s, 1),
                "up_at_s": round(self.up_at_s, 1)}  # fmt: skip


@dataclass
class _Faults:
    plan: FaultPlan
    fleet: Fleet
    start: float
    outages: list[Outage] = field(default_factory=list)

    async def _at(self, offset_s: float) -> None:
        await asyncio.sleep(max(0.0, self.start + offset_s - time.monotonic()))

    async def kills(self) -> None:
        rng = random.Random(self.plan.seed + 1)  # noqa: S311 - reproducible choice of victims
        for number, at in enumerate(self.plan.kill_times(), start=1):
            await self._at(at)
            targets = self.fleet.killable_up()
            if not targets:
                continue
            kill = self.fleet.kill(rng.choice(targets))
            if kill is not None:
                say(f"chaos: kill {number}/{self.plan.kills}: {kill.replica} (pid {kill.pid})")

    async def outages_in_turn(self, stack: PrivateStack) -> None:
        # One at a time, even when a slow restart runs past the next one's moment: what fails
        # during an outage then belongs to one part.
        for part, at in sorted(self.plan.outage_times().items(), key=lambda item: item[1]):
            await self._at(at)
            await self.outage(stack, part)

    async def outage(self, stack: PrivateStack, part: Part) -> None:
        say(f"chaos: stopping {part} for {self.plan.outage_s:g}s")
        down = self.fleet.now()
        await stack.stop(part)
        stopped = self.fleet.now()
        await asyncio.sleep(self.plan.outage_s)
        starting = self.fleet.now()
        await stack.start(part)
        self.outages.append(Outage(part, down, self.fleet.now()))
        say(
            f"chaos: {part} is back after {self.fleet.now() - down:.1f}s (stopping took "
            f"{stopped - down:.1f}s, starting {self.fleet.now() - starting:.1f}s)"
        )


async def run_faults(plan: FaultPlan, fleet: Fleet, stack: PrivateStack | None) -> list[Outage]:
    """Every fault of `plan`, from now on; returns once the last one is done."""
    faults = _Faults(plan, fleet, time.monotonic())
    tasks = [faults.kills()]
    if plan.restart:
        assert stack is not None, "restarts need the run's private stack"
        tasks.append(faults.outages_in_turn(stack))
    await asyncio.gather(*tasks)
    return faults.outages
