"""Every `*` of MAPPINGS.md: a record without it is refused naming it, never half-mapped."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.errors import FieldError
from sync_service.mappings import MAPS
from sync_service.mappings.engine import MappingFailed, to_cds, to_scm
from tests.sync_service.mappings.samples import LOOKUPS, cds_record, scm_record

# (map, field removed from the CDS record (`lines.` = from the first line), SCM field named)
TOWARDS_SCM = [
    ("CustomersV3", "accountnumber", "CustomerAccount"),
    ("CustomersV3", "name", "OrganizationName"),
    ("CustomersV3", "transactioncurrencyid.isocurrencycode", "SalesCurrencyCode"),
    ("ContactPersonsV2", "parentcustomerid.accountnumber", "AssociatedContactNumber"),
    ("ContactPersonsV2", "lastname", "LastName"),
    ("SalesOrderHeaders", "customerid.accountnumber", "OrderingCustomerAccountNumber"),
    ("SalesOrderHeaders", "transactioncurrencyid.isocurrencycode", "CurrencyCode"),
    ("SalesOrderHeaders", "msdyn_language", "LanguageId"),
    ("SalesOrderHeaders", "shipto_country", "DeliveryAddressCountryRegionISOCode"),
    ("SalesOrderHeaders", "msdyn_deliveryaddressdescription", "DeliveryAddressDescription"),
    ("SalesOrderHeaders", "lines.sequencenumber", "lines[0].LineCreationSequenceNumber"),
    ("SalesOrderHeaders", "lines.productid.msdyn_productnumber", "lines[0].ProductNumber"),
    ("SalesOrderHeaders", "lines.quantity", "lines[0].OrderedSalesQuantity"),
    ("SalesOrderHeaders", "lines.uomid.msdyn_symbol", "lines[0].SalesUnitSymbol"),
    ("SalesOrderHeaders", "lines.shipto_country", "lines[0].DeliveryAddressCountryRegionISOCode"),
    (
        "SalesOrderHeaders",
        "lines.msdyn_deliveryaddressdescription",
        "lines[0].DeliveryAddressDescription",
    ),
    ("SalesOrderHeaders", "msdyn_company", "msdyn_company"),
]

# (map, SCM field removed, field named): SCM's own `*` and the CDS side's `*`.
TOWARDS_CDS = [
    ("CustomersV3", "CustomerAccount", "CustomerAccount"),
    ("CustomersV3", "OrganizationName", "OrganizationName"),
    ("CustomersV3", "SalesCurrencyCode", "SalesCurrencyCode"),
    ("CustomersV3", "CustomerGroupId", "CustomerGroupId"),
    ("ContactPersonsV2", "ContactPersonId", "ContactPersonId"),
    ("ContactPersonsV2", "AssociatedContactNumber", "AssociatedContactNumber"),
    ("ContactPersonsV2", "LastName", "LastName"),
    ("SalesOrderHeaders", "SalesOrderNumber", "SalesOrderNumber"),
    ("SalesOrderHeaders", "OrderingCustomerAccountNumber", "OrderingCustomerAccountNumber"),
    ("SalesOrderHeaders", "InvoiceCustomerAccountNumber", "InvoiceCustomerAccountNumber"),
    ("SalesOrderHeaders", "CurrencyCode", "CurrencyCode"),
    ("SalesOrderHeaders", "PriceCustomerGroupCode", "pricelevelid.name"),
    ("SalesOrderHeaders", "LanguageId", "LanguageId"),
    ("SalesOrderHeaders", "DeliveryAddressCountryRegionISOCode", "shipto_country"),
    ("SalesOrderHeaders", "DeliveryAddressDescription", "DeliveryAddressDescription"),
    ("SalesOrderHeaders", "lines.LineCreationSequenceNumber", "lines[0].sequencenumber"),
    ("SalesOrderHeaders", "lines.ProductNumber", "lines[0].ProductNumber"),
    ("SalesOrderHeaders", "lines.OrderedSalesQuantity", "lines[0].quantity"),
    ("SalesOrderHeaders", "lines.SalesUnitSymbol", "lines[0].SalesUnitSymbol"),
    ("SalesOrderHeaders", "lines.DeliveryAddressCountryRegionISOCode", "lines[0].shipto_country"),
    (
        "SalesOrderHeaders",
        "lines.DeliveryAddressDescription",
        "lines[0].DeliveryAddressDescription",
    ),
    ("ReleasedProducts", "ProductNumber", "ProductNumber"),
    ("ReleasedProducts", "ProductName", "ProductName"),
    ("ReleasedProducts", "SalesUnitSymbol", "SalesUnitSymbol"),
    ("SalesPriceAgreements", "PriceCustomerGroupCode", "PriceCustomerGroupCode"),
    ("SalesPriceAgreements", "ProductNumber", "ProductNumber"),
    ("SalesPriceAgreements", "QuantityUnitSymbol", "QuantityUnitSymbol"),
    ("SalesPriceAgreements", "Price", "Price"),
    ("SalesPriceAgreements", "PriceCurrencyCode", "PriceCurrencyCode"),
    ("CustomersV3", "dataAreaId", "dataAreaId"),
]


def _without(record: dict[str, Any], name: str) -> dict[str, Any]:
    if name.startswith("lines."):
        record["lines"][0][name.removeprefix("lines.")] = None
    else:
        record[name] = None
    return record


def _named(failure: pytest.ExceptionInfo[MappingFailed]) -> list[str]:
    return [error.field for error in failure.value.errors]


@pytest.mark.parametrize(("map_name", "removed", "named"), TOWARDS_SCM)
def test_a_cds_record_without_a_required_field_is_refused_towards_scm(
    map_name: str, removed: str, named: str
) -> None:
    record = _without(cds_record(map_name), removed)
    with pytest.raises(MappingFailed) as failure:
        to_scm(MAPS[map_name], record, LOOKUPS)
    assert named in _named(failure)
    assert failure.value.map_name == map_name


@pytest.mark.parametrize(("map_name", "removed", "named"), TOWARDS_CDS)
def test_an_scm_record_without_a_required_field_is_refused_towards_cds(
    map_name: str, removed: str, named: str
) -> None:
    record = _without(scm_record(map_name), removed)
    with pytest.raises(MappingFailed) as failure:
        to_cds(MAPS[map_name], record)
    assert named in _named(failure)


def test_complete_records_map_both_ways() -> None:
    for name in ("CustomersV3", "ContactPersonsV2", "SalesOrderHeaders"):
        assert to_scm(MAPS[name], cds_record(name), LOOKUPS)["dataAreaId"] == "usmf"
    for name in MAPS:
        assert to_cds(MAPS[name], scm_record(name))["msdyn_company"] == "usmf"


def test_every_missing_field_is_named_at_once() -> None:
    record = cds_record("SalesOrderHeaders")
    record["transactioncurrencyid.isocurrencycode"] = None
    record["msdyn_language"] = " "
    record["lines"][0]["quantity"] = None
    with pytest.raises(MappingFailed) as failure:
        to_scm(MAPS["SalesOrderHeaders"], record, LOOKUPS)
    assert failure.value.errors == [
        FieldError(field="CurrencyCode", message="Field required"),
        FieldError(field="LanguageId", message="Field required"),
        FieldError(field="lines[0].OrderedSalesQuantity", message="Field required"),
    ]


def test_a_product_without_default_site_and_warehouse_names_both_line_fields() -> None:
    with pytest.raises(MappingFailed) as failure:
        to_scm(MAPS["SalesOrderHeaders"], cds_record("SalesOrderHeaders"), {})
    assert _named(failure) == ["lines[0].ShippingSiteId", "lines[0].ShippingWarehouseId"]
