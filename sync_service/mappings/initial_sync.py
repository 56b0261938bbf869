"""`dualsync initial-sync`: load an SCM export (CSV / JSON lines) through the inbound worker.

Each row becomes the SCM record envelope the ERP would send on scm.inbound.v1 (origin `scm`) and
goes through the inbound worker's handler inside its FaultPolicy, so it is validated, applied and
dead-lettered exactly as a Kafka record would be. Message ids are derived from the row's entity,
key and content: a re-run skips what is loaded. A dead letter's source is `initial-sync:<file>`,
partition 0, offset = the row's line number.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from uuid import NAMESPACE_URL, uuid4, uuid5

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.errors import ContractError
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord, envelope_field
from sync_service.mappings.inbound import INBOUND_GROUP, InboundWorker
from sync_service.mappings.publishing import Publish
from sync_service.mappings.scm_export import (
    ENTITIES,
    ExportRow,
    InputError,
    export_files,
    read_rows,
)
from sync_service.mappings.tables import dead_letters
from sync_service.settings import Settings

__all__ = ["FileResult", "initial_sync", "run_initial_sync", "summary"]

_IDS: Final = uuid5(NAMESPACE_URL, "urn:dualsync:initial-sync")
_EVERY_ROWS: Final = 1000
_EVERY_S: Final = 1.0

Emit = Callable[[str], None]


@dataclass(slots=True)
class FileResult:
    """What became of one file's rows."""

    file: str
    read: int = 0
    loaded: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    parked: int = 0


def _source_record(
    source: str, stem: str, row: ExportRow, company: str | None, default_company: str, run_id: str
) -> SourceRecord:
    if row.fields is None:
        return SourceRecord(source, 0, row.line, f"{source}:{row.line}", row.raw.encode())
    message, key_fields = ENTITIES[stem]
    fields = dict(row.fields)
    if company and not fields.get("dataAreaId"):
        fields["dataAreaId"] = company
    area = str(fields.get("dataAreaId") or "").strip().lower()
    key = "/".join([area, *(str(fields.get(name) or "") for name in key_fields)])
    content = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(content.encode()).hexdigest()
    env = {
        "message_id": str(uuid5(_IDS, f"{stem}/{key}/{digest}")),
        "type": message.message_type,
        "schema_version": message.schema_version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "origin": "scm",
        # A row without dataAreaId still gets an envelope; the map refuses it, naming the field.
        "company": area or default_company,
        "correlation_id": run_id,
        "payload": fields,
    }
    return SourceRecord(source, 0, row.line, key, json.dumps(env, default=str).encode())


def _identity(value: bytes) -> str:
    """What makes a record the same across runs: its message id, else its raw text."""
    return envelope_field(SourceRecord("", 0, 0, "", value), "message_id") or value.decode()


class _Progress:
    def __init__(self, emit: Emit, name: str, total: int) -> None:
        self._emit, self._name, self._total = emit, name, total
        self._start = self._last = time.monotonic()
        self._done = 0
        emit(f"initial-sync: {name}: {total} rows")

    def tick(self) -> None:
        self._done = done = self._done + 1
        now = time.monotonic()
        if done == self._total or done % _EVERY_ROWS == 0 or now - self._last >= _EVERY_S:
            self._last = now
            share = 100 * done // self._total if self._total else 100
            rate = done / max(now - self._start, 1e-9)
            self._emit(
                f"initial-sync: {self._name}: {done}/{self._total} ({share}%) {rate:.0f} rows/s"
            )


async def initial_sync(
    files: Sequence[Path],
    engine: AsyncEngine,
    publish: Publish,
    settings: Settings,
    *,
    company: str | None = None,
    concurrency: int = 8,
    emit: Emit = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[FileResult]:
    """Load `files` (see `export_files`) in order through the inbound worker; one result each.

    Files load one after the other (dependency order); within a file, `concurrency` lanes.
    """
    handle = InboundWorker(engine).handle
    policy = FaultPolicy(engine, publish, settings, consumer=INBOUND_GROUP, origin="scm")
    run_id, results = str(uuid4()), []
    for path in files:
        source, rows = f"initial-sync:{path.name}", read_rows(path)
        open_letters = await _open_letters(engine, source)
        result, progress = (
            FileResult(path.name, read=len(rows)),
            _Progress(emit, path.name, len(rows)),
        )

        async def run_lane(
            lane: list[tuple[ExportRow, SourceRecord]],
            result: FileResult,
            progress: _Progress,
            open_letters: dict[int, str],
        ) -> None:
            for row, record in lane:
                if open_letters.get(row.line) == _identity(record.value):
                    column = "dead_lettered"  # by an earlier run, and still open
                else:
                    work = _refusing(row.error) if row.error else handle
                    column = _COLUMN[await policy.run(record, work)]
                setattr(result, column, getattr(result, column) + 1)
                progress.tick()

        # Rows of one key stay in file order (one lane per key); lanes run side by side.
        lanes: list[list[tuple[ExportRow, SourceRecord]]] = [[] for _ in range(concurrency)]
        for row in rows:
            record = _source_record(
                source, path.stem, row, company, settings.default_company, run_id
            )
            lanes[zlib.crc32(record.key.encode()) % concurrency].append((row, record))
        async with asyncio.TaskGroup() as group:
            for lane in lanes:
                group.create_task(run_lane(lane, result, progress, open_letters))
        results.append(result)
    return results


def _refusing(error: ContractError) -> Callable[[SourceRecord], Awaitable[Handled]]:
    async def refuse(_record: SourceRecord) -> Handled:
        raise error

    return refuse


_COLUMN: Final = {
    Handled.APPLIED: "loaded",
    Handled.SKIPPED: "skipped",
    Handled.DEAD_LETTERED: "dead_lettered",
    Handled.PARKED: "parked",
}


async def _open_letters(engine: AsyncEngine, source: str) -> dict[int, str]:
    query = select(dead_letters.c.offset, dead_letters.c.original_value).where(
        dead_letters.c.consumer == INBOUND_GROUP,
        dead_letters.c.source_topic == source,
        dead_letters.c.status == "open",
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {int(offset): _identity(value.encode()) for offset, value in rows}


def summary(results: Sequence[FileResult]) -> str:
    """The per-file table printed at the end, with a totals row."""
    names = [f.name.replace("_", "-") for f in fields(FileResult)]
    total = FileResult("total")
    for name in names[1:]:
        attribute = name.replace("-", "_")
        setattr(total, attribute, sum(getattr(r, attribute) for r in results))
    width = max(len(r.file) for r in [*results, total])
    lines = [f"{names[0]:<{width}}" + "".join(f"{n:>15}" for n in names[1:])]
    for result in [*results, total]:
        row = astuple(result)
        lines.append(f"{row[0]:<{width}}" + "".join(f"{v:>15}" for v in row[1:]))
    return "\n".join(lines)


async def run_initial_sync(
    settings: Settings, paths: Sequence[Path], company: str | None, concurrency: int = 8
) -> int:
    """`dualsync initial-sync`: 0 all loaded, 1 some rows dead-lettered or parked, 2 bad input."""
    from sync_service.mappings.publishing import connected

    try:
        files = export_files(paths)
    except InputError as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return 2
    try:
        async with connected(settings) as (engine, publish):
            results = await initial_sync(
                files, engine, publish, settings, company=company, concurrency=concurrency
            )
    except InputError as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return 2
    print(summary(results))
    failed = sum(r.dead_lettered + r.parked for r in results)
    if failed:
        print(f"{failed} rows not loaded: see `dualsync deadletters list`", file=sys.stderr)
    return 1 if failed else 0
