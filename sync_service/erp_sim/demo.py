"""The ERP's side of the demo data set (SPEC §8), as the ERP would publish it on scm.inbound.v1.

The same customers, products, units and prices as `sync_service.demo_data` (a test holds the
two together), in SCM's field names, plus May's order, which was entered in the ERP: it has an
SCM number and no CDSSalesOrderId. Its number comes from a range (`usmf-9xxxxx`) that the
simulator's own sequence (`usmf-000001`, ...) does not reach in a demo, so the two never clash.
Message ids are derived from the record's key, so publishing twice sends duplicates that a
consumer drops, not new changes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final
from uuid import UUID, uuid5

from contracts.envelope import Envelope, Message, envelope
from contracts.scm import (
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesOrderLine,
    SalesPriceAgreement,
    SalesUnit,
)

__all__ = ["COMPANY", "MAY_ORDER_NUMBER", "demo_messages"]

COMPANY: Final = "usmf"
CURRENCY: Final = "USD"
SITE: Final = "1"
WAREHOUSE: Final = "11"
MAY_ORDER_NUMBER: Final = "usmf-900001"
_DEMO_NAMESPACE: Final = UUID("b7d0f5a2-61c4-5e8e-8f3a-4c1d2e9a7b10")

# CustomersV3: (CustomerAccount, OrganizationName, PriceCustomerGroupCode)
CUSTOMERS: Final = (
    ("US-001", "Contoso Retail", "PL-US-001"),
    ("US-002", "Fabrikam Supply", "PL-US-002"),
)

# Units and their factor to the default sales unit `ea`.
UNIT_FACTORS: Final = {"ea": Decimal(1), "box": Decimal(12)}

# ReleasedProducts: (ProductNumber, ProductName, SalesUnits, list SalesPrice)
PRODUCTS: Final = (
    ("P-1000", "Widget", ("ea", "box"), "10.00"),
    ("P-1001", "Gadget", ("ea", "box"), "25.00"),
    ("P-1002", "Bolt pack", ("ea", "box"), "5.00"),
    ("P-1003", "Cable 2 m", ("ea",), "8.00"),
    ("P-1004", "Toolkit", ("ea", "box"), "130.00"),
    ("P-1005", "Safety gloves", ("ea", "box"), "3.00"),
)

# SalesPriceAgreements: (PriceCustomerGroupCode, ProductNumber, QuantityUnitSymbol, Price);
# P-1005 has none, so its list price applies.
PRICES: Final = (
    ("PL-US-001", "P-1000", "ea", "9.00"), ("PL-US-001", "P-1000", "box", "100.00"),
    ("PL-US-001", "P-1001", "ea", "22.50"), ("PL-US-001", "P-1001", "box", "250.00"),
    ("PL-US-001", "P-1002", "ea", "4.00"), ("PL-US-001", "P-1002", "box", "45.00"),
    ("PL-US-001", "P-1003", "ea", "7.50"),
    ("PL-US-001", "P-1004", "ea", "120.00"), ("PL-US-001", "P-1004", "box", "1380.00"),
    ("PL-US-002", "P-1000", "ea", "9.50"), ("PL-US-002", "P-1000", "box", "105.00"),
    ("PL-US-002", "P-1001", "ea", "23.00"), ("PL-US-002", "P-1001", "box", "260.00"),
    ("PL-US-002", "P-1002", "ea", "4.20"), ("PL-US-002", "P-1002", "box", "48.00"),
    ("PL-US-002", "P-1003", "ea", "7.80"),
    ("PL-US-002", "P-1004", "ea", "125.00"), ("PL-US-002", "P-1004", "box", "1400.00"),
)  # fmt: skip

# May's order, entered in the ERP for Fabrikam Supply. May has no ContactPersonId in the demo
# data (SCM never numbered her as a contact person), so the order names no contact person.
MAY_ORDER: Final[dict[str, object]] = {
    "dataAreaId": COMPANY,
    "SalesOrderNumber": MAY_ORDER_NUMBER,
    "SalesOrderName": "Phone order from May",
    "OrderingCustomerAccountNumber": "US-002",
    "InvoiceCustomerAccountNumber": "US-002",
    "ContactPersonId": None,
    "CurrencyCode": CURRENCY,
    "PriceCustomerGroupCode": "PL-US-002",
    "LanguageId": "en-us",
    "DeliveryAddressCountryRegionISOCode": "US",
    "DeliveryAddressDescription": "Fabrikam Supply main warehouse",
    "DeliveryAddressStreet": "1 Harbor Way",
    "DeliveryAddressCity": "Seattle",
    "DeliveryAddressZipCode": "98101",
    "RequestedReceiptDate": "2026-12-15",
    "SalesOrderProcessingStatus": "Confirmed",
}
# Its lines: (ProductNumber, OrderedSalesQuantity, SalesUnitSymbol), priced from PL-US-002.
MAY_ORDER_LINES: Final = (("P-1000", "2", "box"), ("P-1003", "10", "ea"))


def _message(key: str, payload: Message) -> tuple[bytes, Envelope[Message]]:
    message_id = uuid5(_DEMO_NAMESPACE, f"{payload.message_type}/{key}")
    return key.encode(), envelope(payload, origin="scm", company=COMPANY, message_id=message_id)


def _price(price_list: str, product: str, unit: str) -> Decimal:
    return next(Decimal(p) for pl, pr, u, p in PRICES if (pl, pr, u) == (price_list, product, unit))


def _may_order() -> SalesOrderHeader:
    header = SalesOrderHeader.model_validate(MAY_ORDER)
    assert header.PriceCustomerGroupCode is not None
    copied = ("DeliveryAddressCountryRegionISOCode", "DeliveryAddressDescription")
    lines = []
    for sequence, (product, quantity, unit) in enumerate(MAY_ORDER_LINES, start=1):
        price = _price(header.PriceCustomerGroupCode, product, unit)
        line = {
            "SalesOrderNumber": MAY_ORDER_NUMBER,
            "LineCreationSequenceNumber": sequence,
            "ProductNumber": product,
            "OrderedSalesQuantity": Decimal(quantity),
            "SalesUnitSymbol": unit,
            "SalesPrice": price,
            "LineAmount": price * Decimal(quantity),
            "RequestedReceiptDate": header.RequestedReceiptDate,
            "ShippingSiteId": SITE,
            "ShippingWarehouseId": WAREHOUSE,
            **{name: MAY_ORDER[name] for name in copied},  # the lines repeat the header's
        }
        lines.append(SalesOrderLine.model_validate(line))
    total = sum((line.LineAmount or Decimal(0) for line in lines), Decimal(0))
    return header.model_copy(update={"lines": lines, "OrderTotalAmount": total})


def demo_messages() -> list[tuple[bytes, Envelope[Message]]]:
    """Every ERP demo record as (Kafka key, envelope), in publishing order."""
    messages: list[tuple[bytes, Envelope[Message]]] = []
    for account, name, price_list in CUSTOMERS:
        customer = CustomerV3(
            dataAreaId=COMPANY,
            CustomerAccount=account,
            OrganizationName=name,
            SalesCurrencyCode=CURRENCY,
            CustomerGroupId="10",
            PartyType="Organization",
            LanguageId="en-us",
            PriceCustomerGroupCode=price_list,
            DeliveryAddressCountryRegionISOCode="US",
        )
        messages.append(_message(f"{COMPANY}/{account}", customer))
    for number, name, units, list_price in PRODUCTS:
        product = ReleasedProduct(
            dataAreaId=COMPANY,
            ProductNumber=number,
            ProductName=name,
            SalesUnitSymbol="ea",
            SalesUnits=[SalesUnit(Symbol=unit, Factor=UNIT_FACTORS[unit]) for unit in units],
            SalesPrice=Decimal(list_price),
            DefaultShippingSiteId=SITE,
            DefaultShippingWarehouseId=WAREHOUSE,
        )
        messages.append(_message(f"{COMPANY}/{number}", product))
    for price_list, number, unit, price in PRICES:
        agreement = SalesPriceAgreement(
            dataAreaId=COMPANY,
            PriceCustomerGroupCode=price_list,
            ProductNumber=number,
            QuantityUnitSymbol=unit,
            Price=Decimal(price),
            PriceCurrencyCode=CURRENCY,
        )
        messages.append(_message(f"{COMPANY}/{price_list}/{number}/{unit}", agreement))
    messages.append(_message(f"{COMPANY}/{MAY_ORDER_NUMBER}", _may_order()))
    return messages
