"""Run a map between typed records: a CDS pydantic record <-> an SCM pydantic message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.errors import field_errors
from sync_service.mappings.engine import (
    CDS_COMPANY,
    EntityMap,
    Lookups,
    MappingFailed,
    to_cds,
    to_scm,
)

__all__ = ["map_to_cds", "map_to_scm"]

ModelT = TypeVar("ModelT", bound=BaseModel)


def _build(entity: EntityMap, model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MappingFailed(entity.name, field_errors(exc)) from None


def map_to_scm(
    entity: EntityMap,
    cds: BaseModel,
    scm_type: type[ModelT],
    *,
    company: str,
    lookups: Lookups | None = None,
) -> ModelT:
    """`cds` as an `scm_type`; `company` stands in when the record names none (envelope's)."""
    source = cds.model_dump(by_alias=True)
    source[CDS_COMPANY] = source.get(CDS_COMPANY) or company
    return _build(entity, scm_type, to_scm(entity, source, lookups))


def map_to_cds(
    entity: EntityMap,
    scm: BaseModel,
    cds_type: type[ModelT],
    *,
    extra: Mapping[str, Any] | None = None,
    lookups: Lookups | None = None,
) -> ModelT:
    """`scm` as a `cds_type`; `extra` adds CDS-only identity (e.g. `salesorderid`)."""
    target = to_cds(entity, scm.model_dump(), lookups)
    target.update(extra or {})
    return _build(entity, cds_type, target)
