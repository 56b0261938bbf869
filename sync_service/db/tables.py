"""Every table dualsync migrates: the shared metadata with each layer's tables registered on it.

Alembic's environment and the schema-drift test read this, so that a layer's tables (read
models, mapping state) are never mistaken for tables to drop.
"""

from __future__ import annotations

from sync_service.db.schema import metadata
from sync_service.mappings import tables as _mapping_tables  # noqa: F401 - registers its tables
from sync_service.ops import lag_tables as _lag_tables  # noqa: F401 - registers its tables
from sync_service.projections import tables as _read_models  # noqa: F401 - registers its tables
from sync_service.signin import tables as _signin  # noqa: F401 - registers its tables

__all__ = ["metadata"]
