"""The chaos run's verdict: every accepted order followed through, as a table and as JSON.

An accepted order (answered 202) must be stored once (one OrderSubmitted in its stream, and one
stored order per client order, found by its requisition number), be on scm.salesorders.v1 once
per key (a repeat with the same message id is a harmless redelivery, one with another message id
a duplicate effect), be visible to the Administrator, and be numbered by the ERP simulator (a
status of `synced` or later with the number the simulator gave it). Lost = accepted but missing
in any of those places.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from bench.chaos.drain import Drain
from bench.chaos.evidence import AdminView, StoreFacts
from bench.chaos.faults import Outage
from bench.chaos.fleet import Kill, UnexpectedExit
from bench.chaos.load import Load, requisition_number
from bench.chaos.rebuilt import RebuildComparison

__all__ = ["NUMBERED_STATUSES", "Verdict", "judge"]

NUMBERED_STATUSES: Final = frozenset({"synced", "confirmed", "shipped", "invoiced"})


@dataclass
class Verdict:
    """The figures of one chaos run and what they mean: `failures()` empty is a clean run."""

    figures: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    examples_500: list[str] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    exits: list[UnexpectedExit] = field(default_factory=list)
    drain: Drain = field(default_factory=Drain)
    rebuild: RebuildComparison = field(default_factory=RebuildComparison)
    timings: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def failures(self) -> list[str]:
        """Why the run failed, one line per reason; empty when it is clean."""
        f = self.figures
        reasons = []
        if f["not_accepted"]:
            reasons.append(f"{f['not_accepted']} orders never answered 202 (refused or gave up)")
        if f["lost"] and self.drain.drained:
            reasons.append(f"{f['lost']} accepted orders lost")
        elif f["lost"]:
            reasons.append(f"{f['lost']} accepted orders missing somewhere (lost or in flight)")
        duplicates = (
            f["stored_more_than_once"] + f["client_orders_stored_twice"]
            + f["scm_duplicate_effects"] + f["statuses_stored_twice"]
        )  # fmt: skip
        if duplicates:
            reasons.append(f"{duplicates} duplicate effects")
        if self.answers.get("500"):
            reasons.append(f"{self.answers['500']} answers 500")
        if f["improper_503"]:
            reasons.append(f"{f['improper_503']} answers 503 without Retry-After or not a problem")
        if self.exits:
            reasons.append(f"{len(self.exits)} service exits that were not kills")
        if not self.drain.drained:
            reasons.append(f"the drain timed out after {self.drain.waited_s:.0f}s")
        if not self.rebuild.equal:
            reasons.append(self.rebuild.error or "the views differ from a rebuild")
        return reasons

    def rows(self) -> list[tuple[str, str, str]]:
        """(check, value, ok) for the table."""
        f = self.figures

        def row(label: str, value: object, ok: bool | None = None) -> tuple[str, str, str]:
            return label, str(value), "" if ok is None else ("ok" if ok else "FAIL")

        by_replica = Counter(kill.replica for kill in self.kills)
        outages = ", ".join(
            f"{o.part} down at {o.down_at_s:.0f}s for {o.up_at_s - o.down_at_s:.1f}s"
            for o in self.outages
        )
        answers = ", ".join(f"{k} {v}" for k, v in sorted(self.answers.items()))
        return [
            row("orders offered", f["offered"]),
            row("accepted (202)", f["accepted"], f["not_accepted"] == 0),
            row("  refused / gave up", f"{f['refused']} / {f['gave_up']}"),
            row("stored once", f["stored_once"], f["stored_once"] == f["accepted"]),
            row("  stored more than once (per order id)", f["stored_more_than_once"],
                f["stored_more_than_once"] == 0),
            row("  client orders stored as two orders", f["client_orders_stored_twice"],
                f["client_orders_stored_twice"] == 0),
            row("  stored, though the client gave up", f["stored_not_accepted"]),
            row("on scm.salesorders.v1 once per key", f["scm_once"],
                f["scm_once"] == f["accepted"]),
            row("  repeats, same message id (redeliveries)", f["scm_redeliveries"]),
            row("  repeats, new message id (duplicate effects)", f["scm_duplicate_effects"],
                f["scm_duplicate_effects"] == 0),
            row("  status changes stored twice", f["statuses_stored_twice"],
                f["statuses_stored_twice"] == 0),
            row("visible to the Administrator", f["visible"], f["visible"] == f["accepted"]),
            row("numbered by the ERP simulator", f["numbered"], f["numbered"] == f["accepted"]),
            row("lost (accepted, missing anywhere)" if self.drain.drained else
                "lost or still in flight (not drained)", f["lost"], f["lost"] == 0),
            row("views equal to a rebuild", ("yes" if self.rebuild.equal else "no") + (
                "" if self.drain.drained else " (not drained: rows may just be behind)"),
                self.rebuild.equal),
            row("answers 500", self.answers.get("500", 0), not self.answers.get("500")),
            row("  503 without Retry-After or not a problem", f["improper_503"],
                f["improper_503"] == 0),
            row("answers by status", answers or "-"),
            row("kills (kill -9)", f"{len(self.kills)}: " + ", ".join(
                f"{name} {count}" for name, count in sorted(by_replica.items()))),
            row("restarts of Kafka / PostgreSQL", outages or "none"),
            row("service exits that were not kills", len(self.exits), not self.exits),
            row("drain", f"{'done' if self.drain.drained else 'TIMED OUT'} in "
                f"{self.drain.waited_s:.1f}s", self.drain.drained),
            row("dead letters / rejected commands", f"{f['dead_letters']} / {f['rejected']}"),
            row("duration", f"{self.timings.get('total_s', 0):.0f}s (load "
                f"{self.timings.get('load_s', 0):.0f}s)"),
        ]  # fmt: skip

    def table(self) -> str:
        """The verdict as a table, with the reasons of a failure and the exits' log tails."""
        rows = [("check", "value", "ok?"), *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        lines = [f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2]}".rstrip() for r in rows]
        lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  ---")
        lines.append("(times are seconds since the first order was sent)")
        lines += _exits(self.exits)
        if self.examples_500:
            lines += ["", "first answers 500 (seconds into the load, replica, body):",
                      *self.examples_500]  # fmt: skip
        if self.rebuild.examples:
            lines += ["", "rows that differ from the rebuild:", *self.rebuild.examples]
        if not self.drain.drained:
            behind = self.drain.behind or {"(nothing; the sample before found something)": 0}
            lines += ["", "in flight at the drain's last sample:"]
            lines += [f"  {where}: {count}" for where, count in behind.items()]
        failures = self.failures()
        lines += ["", "verdict: " + ("FAILED: " + "; ".join(failures) if failures else "clean")]
        return "\n".join(lines)

    def document(self) -> dict[str, Any]:
        """The verdict as JSON."""
        return {
            "clean": not self.failures(),
            "failures": self.failures(),
            **self.figures,
            "answers": self.answers,
            "examples_500": self.examples_500,
            "kills": [{"at_s": round(k.at_s, 1), "replica": k.replica} for k in self.kills],
            "outages": [outage.as_dict() for outage in self.outages],
            "unexpected_exits": [exit_.as_dict() for exit_ in self.exits],
            "drain": self.drain.as_dict(),
            "views_equal_to_rebuild": self.rebuild.as_dict(),
            "timings": {name: round(value, 1) for name, value in self.timings.items()},
            "parameters": self.parameters,
        }


def _exits(exits: list[UnexpectedExit]) -> list[str]:
    """Exits grouped by how they ended (status and last log line): one tail per kind."""
    kinds: dict[tuple[int, str], list[UnexpectedExit]] = {}
    for e in exits:
        kinds.setdefault((e.status, e.last_line), []).append(e)
    lines: list[str] = []
    for (status, _), group in kinds.items():
        first = group[0]
        who = ", ".join(f"{e.replica} at {e.at_s:.0f}s" for e in group)
        lines += [
            "",
            f"{len(group)} exited with status {status} without being killed: {who}",
            f"the log of {first.replica} ({first.log}) ends"
            + (f" (last frame of ours: {first.where})" if first.where else "")
            + ":",
            first.tail,
        ]
    return lines


def judge(
    load: Load,
    store: StoreFacts,
    scm: dict[str, list[str]],
    view: AdminView,
    erp: dict[str, str],
) -> dict[str, int]:
    """The figures: every accepted order looked up in the store, on SCM, in the view, the ERP."""
    accepted = load.accepted_ids()
    on_scm = {key.rpartition("/")[2]: ids for key, ids in scm.items()}
    stored, once, visible, numbered = set(), set(), set(), set()
    for order_id in accepted:
        if store.submitted[order_id] >= 1:
            stored.add(order_id)
        if len(on_scm.get(order_id, ())) >= 1:
            once.add(order_id)
        if order_id in view.orders:
            visible.add(order_id)
        status, number = view.orders.get(order_id, ("", None))
        if status in NUMBERED_STATUSES and number is not None and erp.get(order_id) == number:
            numbered.add(order_id)
    not_accepted = [o for o in load.orders if o.outcome != "accepted"]
    everywhere = stored & once & visible & numbered
    return {
        "offered": len(load.orders),
        "accepted": len(accepted),
        "not_accepted": len(not_accepted),
        "refused": load.count("refused"),
        "gave_up": load.count("gave up"),
        "stored_once": sum(1 for order_id in stored if store.submitted[order_id] == 1),
        "stored_more_than_once": sum(1 for count in store.submitted.values() if count > 1),
        "client_orders_stored_twice": sum(
            1 for ids in store.orders_by_requisition.values() if len(ids) > 1
        ),
        "stored_not_accepted": sum(
            1 for o in not_accepted if store.orders_by_requisition.get(requisition_number(o.number))
        ),
        "scm_once": sum(1 for order_id in once if len(set(on_scm[order_id])) == 1),
        "scm_redeliveries": sum(len(ids) - len(set(ids)) for ids in scm.values()),
        "scm_duplicate_effects": sum(len(set(ids)) - 1 for ids in scm.values()),
        "statuses_stored_twice": store.repeated_statuses,
        "visible": len(visible),
        "numbered": len(numbered),
        "lost": len(accepted) - len(everywhere),
        "improper_503": load.improper_503,
        "dead_letters": store.dead_letters,
        "rejected": store.rejected,
    }
