"""The generic map engine: field specs (data) in, a mapped record or every field at fault out.

A map is a tuple of `FieldMap`s, one per MAPPINGS.md row. Records are plain dicts keyed by wire
names (CDS logical names, SCM OData names); the engine never sees a pydantic model, so one
engine serves every entity. Company striping is the engine's job, not a field's: `dataAreaId`
and `msdyn_company` are written from the record's company and are part of every key.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from contracts.errors import FieldError
from sync_service.failures import RecordRefused

__all__ = [
    "CDS_COMPANY",
    "SCM_COMPANY",
    "Constant",
    "Default",
    "Direction",
    "EachRecord",
    "EntityMap",
    "FallbackTo",
    "FieldMap",
    "Lookup",
    "Lookups",
    "MappingFailed",
    "Nested",
    "Required",
    "Transform",
    "ValueMap",
    "to_cds",
    "to_scm",
]

SCM_COMPANY: Final = "dataAreaId"
CDS_COMPANY: Final = "msdyn_company"

Lookups = Mapping[str, Mapping[Any, Any]]
"""Named lookup tables the worker loads from current data, e.g. product number -> site."""


class Direction(enum.Enum):
    """Which way a field travels: MAPPINGS.md's `=`/`><` (BOTH), `<<` (TO_SCM), `>>` (TO_CDS)."""

    BOTH = "both"
    TO_SCM = "to_scm"
    TO_CDS = "to_cds"


class Required(enum.Flag):
    """MAPPINGS.md's `*`: on which side a record without the field is refused."""

    NO = 0
    SCM = enum.auto()
    CDS = enum.auto()
    BOTH = SCM | CDS


class MappingFailed(RecordRefused):
    """A record cannot be mapped; `errors` names every field at fault (nothing was written)."""

    def __init__(self, map_name: str, errors: list[FieldError]) -> None:
        self.map_name = map_name
        self.errors = errors
        super().__init__(f"{map_name}: " + "; ".join(f"{e.field}: {e.message}" for e in errors))


class Transform:
    """Turns a source value into a target value; `lookups` holds current data when needed."""

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        """The target value for `value`."""
        return value


@dataclass(frozen=True)
class Default(Transform):
    """Write `value` when the source has none."""

    value: Any

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        return self.value if value is None else value


@dataclass(frozen=True)
class FallbackTo(Transform):
    """Write the source record's `name` field when the source has no value of its own."""

    name: str

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        return source.get(self.name) if value is None else value


@dataclass(frozen=True)
class Constant(Transform):
    """Always write `value` (a field only the target side has)."""

    value: Any

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        return self.value


@dataclass(frozen=True)
class ValueMap(Transform):
    """Translate through `values`; a value it does not know maps to None (then `*` refuses)."""

    values: Mapping[Any, Any]

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        return None if value is None else self.values.get(value)


@dataclass(frozen=True)
class Lookup(Transform):
    """Look the source value up in the named table of current data (None when absent)."""

    table: str

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        return None if value is None else lookups.get(self.table, {}).get(value)


@dataclass(frozen=True)
class EachRecord(Transform):
    """Rename the keys of every record in a list (e.g. SalesUnits -> msdyn_units)."""

    names: Mapping[str, str]

    def apply(self, value: Any, source: Mapping[str, Any], lookups: Lookups) -> Any:
        if value is None:
            return None
        return [{self.names.get(k, k): v for k, v in item.items()} for item in value]


@dataclass(frozen=True)
class FieldMap:
    """One row of a MAPPINGS.md table: SCM name, direction, CDS name, required, transforms."""

    scm: str | None
    direction: Direction
    cds: str | None
    required: Required = Required.NO
    to_scm: Transform | None = None
    to_cds: Transform | None = None
    numbered_by_scm: bool = False
    """SCM assigns it: required in what SCM sends, not in what SCM receives before numbering."""


@dataclass(frozen=True)
class Nested:
    """A list of child records mapped by their own map (a sales order's lines)."""

    scm: str
    cds: str
    entity: EntityMap


@dataclass(frozen=True)
class EntityMap:
    """A declarative map of one entity pair (MAPPINGS.md: one table)."""

    name: str
    fields: tuple[FieldMap, ...]
    children: tuple[Nested, ...] = ()
    striped: bool = True
    """Whether the record carries the company itself (child records inherit their parent's)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _required(name: str) -> FieldError:
    return FieldError(field=name, message="Field required")


def _map(
    entity: EntityMap,
    source: Mapping[str, Any],
    lookups: Lookups,
    *,
    towards_scm: bool,
    path: str,
) -> tuple[dict[str, Any], list[FieldError]]:
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    wanted = Direction.TO_SCM if towards_scm else Direction.TO_CDS
    target_side = Required.SCM if towards_scm else Required.CDS
    for spec in entity.fields:
        src, dst = (spec.cds, spec.scm) if towards_scm else (spec.scm, spec.cds)
        if dst is None or spec.direction not in (Direction.BOTH, wanted):
            continue
        value = source.get(src) if src is not None else None
        # SCM owns the record it sends: it must be complete by SCM's own rules too.
        scm_input = not towards_scm and spec.scm is not None and Required.SCM in spec.required
        if scm_input and _missing(value):
            errors.append(_required(f"{path}{spec.scm}"))
        transform = spec.to_scm if towards_scm else spec.to_cds
        if transform is not None:
            value = transform.apply(value, source, lookups)
        out[dst] = value
        skip = towards_scm and spec.numbered_by_scm
        if target_side in spec.required and not skip and _missing(value):
            errors.append(_required(f"{path}{dst}"))
    for child in entity.children:
        src_name, dst_name = (child.cds, child.scm) if towards_scm else (child.scm, child.cds)
        mapped_children = []
        for index, item in enumerate(source.get(src_name) or []):
            mapped, child_errors = _map(
                child.entity, item, lookups, towards_scm=towards_scm,
                path=f"{path}{dst_name}[{index}].",
            )  # fmt: skip
            mapped_children.append(mapped)
            errors.extend(child_errors)
        out[dst_name] = mapped_children
    # A required field met on both sides may be reported twice (input and output): once is enough.
    return out, list(dict.fromkeys(errors))


def _stripe(source: Mapping[str, Any], out: dict[str, Any], src: str, dst: str) -> list[FieldError]:
    company = source.get(src)
    if _missing(company):
        return [FieldError(field=src, message="Field required: the company (legal entity)")]
    out[dst] = str(company).lower()
    return []


def to_scm(
    entity: EntityMap, cds: Mapping[str, Any], lookups: Lookups | None = None
) -> dict[str, Any]:
    """The SCM record of CDS record `cds`; MappingFailed naming every field at fault."""
    out, errors = _map(entity, cds, lookups or {}, towards_scm=True, path="")
    if entity.striped:
        errors = _stripe(cds, out, CDS_COMPANY, SCM_COMPANY) + errors
    if errors:
        raise MappingFailed(entity.name, errors)
    return out


def to_cds(
    entity: EntityMap, scm: Mapping[str, Any], lookups: Lookups | None = None
) -> dict[str, Any]:
    """The CDS record of SCM record `scm`; MappingFailed naming every field at fault."""
    out, errors = _map(entity, scm, lookups or {}, towards_scm=False, path="")
    if entity.striped:
        errors = _stripe(scm, out, SCM_COMPANY, CDS_COMPANY) + errors
    if errors:
        raise MappingFailed(entity.name, errors)
    return out
