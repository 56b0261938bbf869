"""The lag tests reuse the mapping tests' running outbound worker and topics."""

from __future__ import annotations

from tests.sync_service.mappings.conftest import outbound, topics

__all__ = ["outbound", "topics"]
