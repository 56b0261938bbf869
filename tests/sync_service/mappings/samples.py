"""Complete records of both sides, as dicts of wire names, for the map tests."""

from __future__ import annotations

from typing import Any

from contracts.scm import ContactPersonV2, CustomerV3, ReleasedProduct, SalesPriceAgreement
from sync_service.mappings.sales_orders import PRODUCT_SITE, PRODUCT_WAREHOUSE
from tests.contracts.samples import ACCOUNT, CONTACT, SALES_ORDER, SALES_ORDER_HEADER

__all__ = ["LOOKUPS", "cds_record", "scm_record"]

LOOKUPS = {PRODUCT_SITE: {"D0001": "1"}, PRODUCT_WAREHOUSE: {"D0001": "11"}}
"""The released product D0001's default site and warehouse."""

_SCM = {
    "CustomersV3": CustomerV3(
        dataAreaId="usmf", CustomerAccount="US-001", OrganizationName="Contoso Retail",
        SalesCurrencyCode="USD", CustomerGroupId="10", PartyType="Organization",
        LanguageId="en-us", PriceCustomerGroupCode="PL-US-001",
    ),
    "ContactPersonsV2": ContactPersonV2(
        dataAreaId="usmf", ContactPersonId="000123", AssociatedContactNumber="US-001",
        AssociatedContactType="Customer", FirstName="Jane", LastName="Contoso",
    ),
    "SalesOrderHeaders": SALES_ORDER_HEADER,
    "ReleasedProducts": ReleasedProduct(
        dataAreaId="usmf", ProductNumber="D0001", ProductName="Widget", SalesUnitSymbol="ea",
        SalesUnits=[{"Symbol": "ea", "Factor": "1"}], SalesPrice="5.25",
        DefaultShippingSiteId="1", DefaultShippingWarehouseId="11",
    ),
    "SalesPriceAgreements": SalesPriceAgreement(
        dataAreaId="usmf", PriceCustomerGroupCode="PL-US-001", ProductNumber="D0001",
        QuantityUnitSymbol="box", Price="61.70", PriceCurrencyCode="USD",
    ),
}  # fmt: skip
_CDS = {"CustomersV3": ACCOUNT, "ContactPersonsV2": CONTACT, "SalesOrderHeaders": SALES_ORDER}


def scm_record(map_name: str) -> dict[str, Any]:
    """A complete SCM record of the map's entity."""
    return _SCM[map_name].model_dump()


def cds_record(map_name: str) -> dict[str, Any]:
    """A complete CDS record of the map's entity (maps that send to SCM)."""
    return _CDS[map_name].model_dump(by_alias=True)
