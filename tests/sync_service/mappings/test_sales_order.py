"""The sales order map: one SCM message with all lines, defaults, lookups, the status map."""

from __future__ import annotations

from contracts.cds import SalesOrder
from contracts.scm import CustomerV3, SalesOrderHeader
from sync_service.mappings import MAPS, map_to_cds, map_to_scm
from tests.contracts.samples import ACCOUNT, ORDER, SALES_ORDER, SALES_ORDER_HEADER
from tests.sync_service.mappings.samples import LOOKUPS

ORDERS = MAPS["SalesOrderHeaders"]


def test_a_portal_order_becomes_one_scm_header_with_all_its_lines() -> None:
    order = SALES_ORDER.model_copy(update={"lines": [*SALES_ORDER.lines, *SALES_ORDER.lines]})
    header = map_to_scm(ORDERS, order, SalesOrderHeader, company="usmf", lookups=LOOKUPS)
    assert header.dataAreaId == "usmf"
    assert header.CDSSalesOrderId == ORDER
    assert header.SalesOrderNumber is None  # SCM numbers it
    assert header.OrderingCustomerAccountNumber == "US-001"
    assert header.CurrencyCode == "USD"
    assert header.SalesOrderProcessingStatus is None  # `pending` is the portal's own
    assert len(header.lines) == 2
    line = header.lines[0]
    assert (line.ProductNumber, line.OrderedSalesQuantity, line.SalesUnitSymbol) == (
        "D0001",
        SALES_ORDER.lines[0].quantity,
        "box",
    )
    assert (line.ShippingSiteId, line.ShippingWarehouseId) == ("1", "11")


def test_the_invoice_customer_defaults_to_the_potential_customer() -> None:
    order = SALES_ORDER.model_copy(update={"invoice_account": None})
    header = map_to_scm(ORDERS, order, SalesOrderHeader, company="usmf", lookups=LOOKUPS)
    assert header.InvoiceCustomerAccountNumber == "US-001"


def test_the_envelope_company_stands_in_for_a_record_without_one() -> None:
    order = SALES_ORDER.model_copy(update={"company": None})
    header = map_to_scm(ORDERS, order, SalesOrderHeader, company="usmf", lookups=LOOKUPS)
    assert header.dataAreaId == "usmf"


def test_scm_statuses_map_to_portal_statuses() -> None:
    expected = {
        "Active": "synced",
        "Confirmed": "confirmed",
        "PickingListProduced": "confirmed",
        "Picked": "confirmed",
        "Delivered": "shipped",
        "Invoiced": "invoiced",
        "Canceled": "canceled",
    }
    for scm_status, portal_status in expected.items():
        header = SALES_ORDER_HEADER.model_copy(update={"SalesOrderProcessingStatus": scm_status})
        order = map_to_cds(ORDERS, header, SalesOrder, extra={"salesorderid": ORDER})
        assert order.processing_status == portal_status


def test_an_erp_order_gets_the_cds_defaults() -> None:
    header = SALES_ORDER_HEADER.model_copy(update={"SalesOrderName": None})
    order = map_to_cds(ORDERS, header, SalesOrder, extra={"salesorderid": ORDER})
    assert order.name == "sales order"
    assert order.sales_order_number == "SO-000042"
    assert order.company == "usmf"
    assert order.lines[0].product_number == "D0001"


def test_a_customer_gets_the_scm_defaults_and_constants() -> None:
    account = ACCOUNT.model_copy(update={"customer_group": None, "language": None})
    customer = map_to_scm(MAPS["CustomersV3"], account, CustomerV3, company="usmf")
    assert (customer.CustomerGroupId, customer.PartyType, customer.LanguageId) == (
        "10",
        "Organization",
        "en-us",
    )
    assert customer.CreditLimit is None  # SCM owns it: never sent
