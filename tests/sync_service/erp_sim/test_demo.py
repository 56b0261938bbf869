"""`erp-sim publish-demo` sends the ERP's demo records, matching the portal side's demo data."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import pytest

from contracts.envelope import Envelope, Message
from contracts.events import (
    ContactUpserted,
    CustomerAccountUpserted,
    PriceListPriceUpserted,
    ProductUpserted,
)
from contracts.scm import (
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesPriceAgreement,
)
from contracts.topics import SCM_INBOUND
from sync_service.demo_data import MAY_CONTACT_ID, demo_records
from sync_service.erp_sim import publish_demo
from sync_service.erp_sim.demo import demo_messages
from sync_service.settings import Settings
from tests.sync_service.erp_sim.wire import read_until

pytestmark = pytest.mark.integration


MessageT = TypeVar("MessageT", bound=Message)


def _payloads(kind: type[MessageT]) -> list[MessageT]:
    return [payload for _, _, payload in demo_records() if isinstance(payload, kind)]


def _of(received: list[Envelope[Message]], kind: type[MessageT]) -> list[MessageT]:
    return [env.payload for env in received if isinstance(env.payload, kind)]


async def test_publish_demo_sends_records_that_decode_and_match_the_portal_demo_data(
    settings: Settings,
) -> None:
    sent = await publish_demo(settings)
    records = await read_until(settings, SCM_INBOUND, lambda seen: len(seen) >= sent, settle_s=0.5)
    received = [env for _, env in records]  # read_until decodes with contracts.registry.decode

    assert len(received) == sent == len(demo_messages())
    assert len({env.message_id for env in received}) == sent
    assert all(env.origin == "scm" and env.company == "usmf" for env in received)

    accounts = {
        e.account.account_number: (e.account.name, e.account.price_list, e.account.currency)
        for e in _payloads(CustomerAccountUpserted)
    }
    customers = {
        c.CustomerAccount: (c.OrganizationName, c.PriceCustomerGroupCode, c.SalesCurrencyCode)
        for c in _of(received, CustomerV3)
    }
    assert (
        customers
        == accounts
        == {
            "US-001": ("Contoso Retail", "PL-US-001", "USD"),
            "US-002": ("Fabrikam Supply", "PL-US-002", "USD"),
        }
    )

    portal_products = {
        (
            p.product_number,
            p.name,
            p.default_unit,
            tuple((u.symbol, u.factor) for u in p.units),
            p.price,
            p.default_site,
            p.default_warehouse,
        )
        for p in (e.product for e in _payloads(ProductUpserted))
    }
    erp_products = {
        (
            p.ProductNumber,
            p.ProductName,
            p.SalesUnitSymbol,
            tuple((u.Symbol, u.Factor) for u in p.SalesUnits),
            p.SalesPrice,
            p.DefaultShippingSiteId,
            p.DefaultShippingWarehouseId,
        )
        for p in _of(received, ReleasedProduct)
    }
    assert erp_products == portal_products
    assert {p[0] for p in erp_products} == {f"P-100{i}" for i in range(6)}
    assert ("box", Decimal(12)) in next(p[3] for p in erp_products if p[0] == "P-1000")

    portal_prices = {
        (p.price_list, p.product_number, p.unit, p.amount, p.currency)
        for p in (e.price for e in _payloads(PriceListPriceUpserted))
    }
    erp_prices = {
        (
            a.PriceCustomerGroupCode,
            a.ProductNumber,
            a.QuantityUnitSymbol,
            a.Price,
            a.PriceCurrencyCode,
        )
        for a in _of(received, SalesPriceAgreement)
    }
    assert erp_prices == portal_prices


def test_mays_order_is_an_erp_numbered_order_of_fabrikam() -> None:
    orders = [
        env.payload for _, env in demo_messages() if isinstance(env.payload, SalesOrderHeader)
    ]
    assert len(orders) == 1
    order = orders[0]
    may = next(
        e.contact for e in _payloads(ContactUpserted) if e.contact.contact_id == MAY_CONTACT_ID
    )
    assert order.SalesOrderNumber and order.CDSSalesOrderId is None
    assert order.OrderingCustomerAccountNumber == may.account_number == "US-002"
    assert order.ContactPersonId == may.contact_person_id
    assert order.PriceCustomerGroupCode == "PL-US-002"
    prices = {
        (p.product_number, p.unit): p.amount
        for p in (e.price for e in _payloads(PriceListPriceUpserted))
        if p.price_list == "PL-US-002"
    }
    assert order.lines
    for line in order.lines:
        assert line.SalesOrderNumber == order.SalesOrderNumber
        assert line.SalesPrice == prices[(line.ProductNumber, line.SalesUnitSymbol)]
        assert line.ShippingSiteId and line.ShippingWarehouseId
    assert order.OrderTotalAmount == sum(line.LineAmount or 0 for line in order.lines)
