"""ReleasedProducts >> product and SalesPriceAgreements >> productpricelevel (SCM owns both)."""

from __future__ import annotations

from typing import Final

from sync_service.mappings.engine import Direction, EachRecord, EntityMap, Required
from sync_service.mappings.engine import FieldMap as F

__all__ = ["PRICE_AGREEMENT_MAP", "RELEASED_PRODUCT_MAP"]

_C = Direction.TO_CDS
_UNITS = EachRecord({"Symbol": "msdyn_symbol", "Factor": "msdyn_factor"})

RELEASED_PRODUCT_MAP: Final = EntityMap(
    name="ReleasedProducts",
    fields=(
        F("ProductNumber", _C, "msdyn_productnumber", Required.BOTH),
        F("ProductName", _C, "name", Required.BOTH),
        F("SalesUnitSymbol", _C, "defaultuomid.msdyn_symbol", Required.BOTH),
        F("SalesUnits", _C, "msdyn_units", to_cds=_UNITS),
        F("SalesPrice", _C, "price"),
        F("DefaultShippingSiteId", _C, "msdyn_defaultsite"),
        F("DefaultShippingWarehouseId", _C, "msdyn_defaultwarehouse"),
    ),
)
"""Released products; their default site and warehouse fill the order lines'."""

PRICE_AGREEMENT_MAP: Final = EntityMap(
    name="SalesPriceAgreements",
    fields=(
        F("PriceCustomerGroupCode", _C, "pricelevelid.name", Required.BOTH),
        F("ProductNumber", _C, "productid.msdyn_productnumber", Required.BOTH),
        F("QuantityUnitSymbol", _C, "uomid.msdyn_symbol", Required.BOTH),
        F("Price", _C, "amount", Required.BOTH),
        F("PriceCurrencyCode", _C, "transactioncurrencyid.isocurrencycode", Required.BOTH),
    ),
)
"""Price-list prices."""
