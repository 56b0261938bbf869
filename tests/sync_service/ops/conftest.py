"""The lag tests reuse the mapping tests' running outbound worker and topics."""

from __future__ import annotations

from tests.sync_service.mappings.conftest import mapping_producer, outbound, topics

__all__ = ["mapping_producer", "outbound", "topics"]
