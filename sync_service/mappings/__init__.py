"""Declarative CDS <-> SCM maps (MAPPINGS.md) and the small engine that runs them."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from sync_service.mappings.contacts import CONTACT_MAP
from sync_service.mappings.customers import CUSTOMER_MAP
from sync_service.mappings.engine import EntityMap, MappingFailed
from sync_service.mappings.products import PRICE_AGREEMENT_MAP, RELEASED_PRODUCT_MAP
from sync_service.mappings.records import map_to_cds, map_to_scm
from sync_service.mappings.sales_orders import SALES_ORDER_MAP

__all__ = ["MAPS", "EntityMap", "MappingFailed", "map_to_cds", "map_to_scm"]

MAPS: Final = MappingProxyType(
    {
        entity.name: entity
        for entity in (
            CUSTOMER_MAP,
            CONTACT_MAP,
            SALES_ORDER_MAP,
            RELEASED_PRODUCT_MAP,
            PRICE_AGREEMENT_MAP,
        )
    }
)
"""Every map by name: the names ops pause and resume, and dead letters name."""
