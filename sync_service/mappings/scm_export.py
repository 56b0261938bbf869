"""SCM export files (one per entity, CSV or JSON lines, SCM field names) read as rows.

CSV cells are text (pydantic converts them as it does JSON strings); an empty cell is a missing
field; `SalesUnits` in a CSV cell is a JSON array. JSON numbers with a fraction are kept as their
text, as the record made of a row carries them. Sales orders are JSON lines only, since each
carries its `lines` nested. A row that cannot be parsed is kept with the reason, never raised.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from contracts.envelope import Message
from contracts.errors import ROOT_FIELD, ContractError, FieldError, InvalidMessage
from contracts.scm import (
    ContactPersonV2,
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesPriceAgreement,
)

__all__ = [
    "ENTITIES", "FORMATS", "ExportRow", "InputError", "count_rows", "export_files", "read_rows",
]  # fmt: skip

ENTITIES: Final[dict[str, tuple[type[Message], tuple[str, ...]]]] = {
    "CustomersV3": (CustomerV3, ("CustomerAccount",)),
    "ReleasedProducts": (ReleasedProduct, ("ProductNumber",)),
    "SalesPriceAgreements": (
        SalesPriceAgreement, ("PriceCustomerGroupCode", "ProductNumber", "QuantityUnitSymbol"),
    ),
    "ContactPersonsV2": (ContactPersonV2, ("ContactPersonId",)),
    "SalesOrderHeaders": (SalesOrderHeader, ("SalesOrderNumber",)),
}  # fmt: skip
"""File stem -> (SCM record, integration key fields), in dependency (loading) order."""
FORMATS: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SUFFIXES: Final = {"SalesOrderHeaders": "jsonl"}  # its lines are nested: no CSV
_JSON_CELLS: Final = frozenset({"SalesUnits", "lines"})  # list fields: a CSV cell holds JSON


class InputError(Exception):
    """The export cannot be read at all (missing path, unknown file name): exit status 2."""


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One row of an export file: its fields, or why it could not be parsed."""

    line: int
    fields: dict[str, Any] | None  # None: not parseable, `raw` is kept and `error` says why
    raw: str = ""
    error: ContractError | None = None


def export_files(paths: Sequence[Path]) -> list[Path]:
    """The export files named by `paths` (directories expanded), in loading order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [p for p in sorted(path.iterdir()) if p.suffix.lower() in FORMATS]
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    for path in found:
        if path.stem not in ENTITIES or path.suffix.lower() not in FORMATS:
            known = ", ".join(f"{stem}.{_SUFFIXES.get(stem, 'csv|.jsonl')}" for stem in ENTITIES)
            raise InputError(f"{path.name}: not an SCM export file name (expected one of {known})")
        if path.stem == "SalesOrderHeaders" and FORMATS[path.suffix.lower()] == "csv":
            raise InputError(f"{path.name}: sales orders must be JSON lines with `lines` nested")
    if not found:
        raise InputError(f"no export files (.csv, .jsonl, .ndjson) in {', '.join(map(str, paths))}")
    order = list(ENTITIES)
    return sorted(found, key=lambda p: order.index(p.stem))


def _invalid(message: str) -> InvalidMessage:
    return InvalidMessage([FieldError(field=ROOT_FIELD, message=message)])


def _csv_rows(path: Path) -> Iterator[ExportRow]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, strict=True)
        header = next(reader, [])
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield ExportRow(line, None, f"line {line}", _invalid(f"bad CSV: {exc}"))
                continue
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                error = _invalid(f"{len(cells)} cells, the header has {len(header)}")
                yield ExportRow(line, None, json.dumps(cells), error)
                continue
            yield ExportRow(line, {n: _cell(n, c) for n, c in zip(header, cells, strict=True) if c})


def _cell(name: str, text: str) -> Any:
    if name in _JSON_CELLS:
        try:
            return json.loads(text, parse_float=str)
        except ValueError:
            return text  # the contract refuses it, naming the field
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_object(text: str) -> dict[str, Any]:
    """`load_json_object`, but a number with a fraction is kept as its text, e.g. "1.10".

    The record built from the row carries it as that string, which the contract reads as a
    Decimal; so the row's fields are already what a reader of the record sees.
    """
    try:
        value = json.loads(text, parse_float=str, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    if not isinstance(value, dict):
        raise _invalid(f"expected a JSON object, got {type(value).__name__}")
    return value


def _jsonl_rows(path: Path) -> Iterator[ExportRow]:
    with path.open(encoding="utf-8-sig") as file:
        for line, text in enumerate(file, start=1):
            if text.strip():
                try:
                    yield ExportRow(line, _json_object(text))
                except ContractError as exc:
                    yield ExportRow(line, None, text.rstrip("\n"), exc)


def read_rows(path: Path) -> Iterator[ExportRow]:
    """The rows of an export file, one at a time; InputError if it cannot be read as UTF-8 text.

    A generator, so a large export is never held whole: the caller keeps only the rows it is
    loading (an error may come after some rows; `count_rows` reads the whole file first).
    """
    reader = _csv_rows if FORMATS[path.suffix.lower()] == "csv" else _jsonl_rows
    try:
        yield from reader(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None


def count_rows(path: Path) -> int:
    """How many rows `read_rows` yields (for progress), holding none of them.

    A JSON lines row is a non-blank line; CSV rows are counted by the csv module, since a quoted
    cell may span lines. InputError, as `read_rows`, if the file cannot be read.
    """
    try:
        if FORMATS[path.suffix.lower()] == "csv":
            return sum(1 for _ in _csv_rows(path))
        with path.open(encoding="utf-8-sig") as file:
            return sum(1 for text in file if text.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
