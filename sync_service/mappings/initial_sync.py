"""`dualsync initial-sync`: load an SCM export (CSV / JSON lines) through the inbound worker.

Each row becomes the SCM record envelope the ERP would send on scm.inbound.v1 (origin `scm`) and
goes through the inbound worker's rules in chunks (InboundBatch: one transaction per chunk, and
record by record through its FaultPolicy when a chunk meets a conflict), so it is validated,
applied and dead-lettered exactly as a Kafka record would be. Message ids are derived from the
row's entity, key and content: a re-run skips what is loaded. A dead letter's source is
`initial-sync:<file>`, partition 0, offset = the row's line number.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import Message
from contracts.errors import ContractError
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord, envelope_field
from sync_service.mappings.inbound import INBOUND_GROUP
from sync_service.mappings.inbound_batch import Decoded, InboundBatch
from sync_service.mappings.publishing import Publish
from sync_service.mappings.scm_export import (
    ENTITIES,
    ExportRow,
    InputError,
    count_rows,
    export_files,
    read_rows,
)
from sync_service.mappings.tables import dead_letters
from sync_service.settings import Settings

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "FileResult",
    "initial_sync",
    "run_initial_sync",
    "summary",
]

_IDS: Final = uuid5(NAMESPACE_URL, "urn:dualsync:initial-sync")
_EVERY_ROWS: Final = 1000
DEFAULT_CONCURRENCY: Final = 3
"""Lanes of a file loaded side by side (`--concurrency`); the CLI's default too.

Enough to overlap one lane's database work with another's Python (more were no faster on two
cores), and each lane holds its chunks in flight: some 30 MB of sales orders.
"""
DEFAULT_CHUNK_SIZE: Final = 1000
"""Rows of a lane per transaction."""
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
    source: str,
    stem: str,
    row: ExportRow,
    *,
    company: str | None,
    default_company: str,
    run_id: UUID,
) -> tuple[SourceRecord, Decoded | ContractError | None]:
    """The record the ERP would send for `row`, and it decoded (None: decode it the slow way)."""
    if row.fields is None:
        return SourceRecord(
            source, 0, row.line, f"{source}:{row.line}", row.raw.encode()
        ), row.error
    message = ENTITIES[stem][0]
    fields, area, key = _keyed(stem, row.fields, company)
    content = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(content.encode()).hexdigest()
    message_id = uuid5(_IDS, f"{stem}/{key}/{digest}")
    # A row without dataAreaId still gets an envelope; the map refuses it, naming the field.
    env_company = area or default_company.strip().lower()
    head = {
        "message_id": str(message_id),
        "type": message.message_type,
        "schema_version": message.schema_version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "origin": "scm",
        "company": env_company,
        "correlation_id": str(run_id),
    }
    # The payload is `content` itself (keys sorted): the text its message id was derived from.
    value = f'{json.dumps(head)[:-1]}, "payload": {content}}}'.encode()
    record = SourceRecord(source, 0, row.line, key, value)
    return record, _decoded(message, message_id, env_company, run_id, fields)


def _keyed(
    stem: str, row_fields: dict[str, Any], company: str | None
) -> tuple[dict[str, Any], str, str]:
    """The row's fields with the company filled in, its company and its integration key."""
    fields = dict(row_fields)
    if company and not fields.get("dataAreaId"):
        fields["dataAreaId"] = company
    area = str(fields.get("dataAreaId") or "").strip().lower()
    key = "/".join([area, *(str(fields.get(name) or "") for name in ENTITIES[stem][1])])
    return fields, area, key


def _lane_key(source: str, stem: str, row: ExportRow, company: str | None) -> str:
    """The key `_source_record` gives the row's record (rows of one key share a lane)."""
    if row.fields is None:
        return f"{source}:{row.line}"
    return _keyed(stem, row.fields, company)[2]


def _decoded(
    message: type[Message],
    message_id: UUID,
    company: str,
    run_id: UUID,
    fields: dict[str, Any],
) -> Decoded | None:
    """The record as `decode` would read it, or None if it may not (decode says why then).

    `decode` reads the payload back from `content`, which gives back `fields` as they are
    (text, whole numbers, lists and objects of them: see scm_export), so those are validated.
    """
    if not company:
        return None
    try:
        payload = message.model_validate(fields)
    except ValidationError:
        return None  # decode names the fields at fault, as the worker's dead letters do
    return Decoded(message_id, message.message_type, "scm", company, run_id, payload)


def _identity(value: bytes) -> str:
    """What makes a record the same across runs: its message id, else its raw text."""
    return envelope_field(SourceRecord("", 0, 0, "", value), "message_id") or value.decode()


class _Progress:
    def __init__(self, emit: Emit, name: str, total: int) -> None:
        self._emit, self._name, self._total = emit, name, total
        self._start = self._last = time.monotonic()
        self._done = 0
        emit(f"initial-sync: {name}: {total} rows")

    def tick(self, rows: int = 1) -> None:
        before, self._done = self._done, self._done + rows
        done, now = self._done, time.monotonic()
        crossed = done // _EVERY_ROWS != before // _EVERY_ROWS
        if done == self._total or crossed or now - self._last >= _EVERY_S:
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
    concurrency: int = DEFAULT_CONCURRENCY,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    emit: Emit = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[FileResult]:
    """Load `files` (see `export_files`) in order through the inbound rules; one result each.

    Files load one after the other (dependency order). Within a file, rows go to `concurrency`
    lanes by key (a key's rows stay in file order), and each lane loads `chunk_size` rows per
    transaction (InboundBatch), so one lane's database work overlaps another's Python.
    """
    policy = FaultPolicy(engine, publish, settings, consumer=INBOUND_GROUP, origin="scm")
    batch = InboundBatch(engine, policy)
    run_id, results = uuid4(), []
    for path in files:
        # A first pass only counts (for progress): the rows are streamed, never held whole.
        source, total = f"initial-sync:{path.name}", count_rows(path)
        open_letters = await _open_letters(engine, source)
        result, progress = FileResult(path.name), _Progress(emit, path.name, total)
        # Records are made chunk by chunk, in the lanes: only the chunks in flight are held.
        make = functools.partial(
            _source_record, source, path.stem, company=company,
            default_company=settings.default_company, run_id=run_id,
        )  # fmt: skip
        # A lane's queue holds its next chunk's rows: the reader is at most that far ahead.
        queues: list[asyncio.Queue[ExportRow | None]] = [
            asyncio.Queue(maxsize=chunk_size) for _ in range(concurrency)
        ]
        try:
            async with asyncio.TaskGroup() as group:
                for queue in queues:
                    group.create_task(
                        _run_lane(batch, queue, chunk_size, make, result, progress, open_letters)
                    )
                lane_of = functools.partial(_lane_key, source, path.stem, company=company)
                await _deal(read_rows(path), lane_of, queues, result)
        except* InputError as failed:
            raise failed.exceptions[0] from None  # the file changed since it was counted
        results.append(result)
    return results


async def _deal(
    rows: Iterable[ExportRow],
    lane_of: Callable[[ExportRow], str],
    queues: list[asyncio.Queue[ExportRow | None]],
    result: FileResult,
) -> None:
    """Hand the rows to the lanes by key, in file order; then None to each.

    A key's rows all go to one lane, whose queue keeps their order. `put` waits while that
    lane's queue is full, so no more than a chunk per lane waits beside the chunks in flight.
    """
    for row in rows:
        result.read += 1
        await queues[zlib.crc32(lane_of(row).encode()) % len(queues)].put(row)
    for queue in queues:
        await queue.put(None)


async def _chunk(queue: asyncio.Queue[ExportRow | None], size: int) -> list[ExportRow] | None:
    """The rows waiting in `queue` (one at least, `size` at most); None at the end of the file."""
    first = await queue.get()
    if first is None:
        return None
    chunk = [first]
    while len(chunk) < size and not queue.empty():
        row = queue.get_nowait()
        if row is None:
            queue.put_nowait(None)  # the end: for the next call
            break
        chunk.append(row)
    return chunk


async def _run_lane(
    batch: InboundBatch,
    queue: asyncio.Queue[ExportRow | None],
    chunk_size: int,
    make: Callable[[ExportRow], tuple[SourceRecord, Decoded | ContractError | None]],
    result: FileResult,
    progress: _Progress,
    open_letters: dict[int, str],
) -> None:
    while (chunk := await _chunk(queue, chunk_size)) is not None:
        size, todo = len(chunk), []
        for row in chunk:
            record, decoded = make(row)
            if row.line in open_letters and open_letters[row.line] == _identity(record.value):
                result.dead_lettered += 1  # by an earlier run, and still open
            else:
                todo.append((record, decoded))
        del chunk  # made into records: only they are held while the chunk loads
        if todo:
            handled = await batch.load([r for r, _ in todo], [d for _, d in todo])
            for outcome in handled:
                column = _COLUMN[outcome]
                setattr(result, column, getattr(result, column) + 1)
        progress.tick(size)


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
    settings: Settings,
    paths: Sequence[Path],
    company: str | None,
    concurrency: int = DEFAULT_CONCURRENCY,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
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
                files, engine, publish, settings, company=company, concurrency=concurrency,
                chunk_size=chunk_size,
            )  # fmt: skip
    except InputError as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return 2
    print(summary(results))
    failed = sum(r.dead_lettered + r.parked for r in results)
    if failed:
        print(f"{failed} rows not loaded: see `dualsync deadletters list`", file=sys.stderr)
    return 1 if failed else 0
