"""SCM (Supply-Chain-Management-like) records; attributes are the OData field names.

Top-level records are `Message`s: they travel on the scm.* topics (and come back on
scm.inbound.v1) as payloads. As in `contracts.cds`, fields that MAPPINGS.md marks required
are optional here so that the mapping can dead-letter a record naming the missing field;
types are strict. Money and quantities are `Decimal`, written as JSON strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.envelope import Message, Record
from contracts.values import CompanyCode

__all__ = [
    "ContactPersonV2",
    "CustomerV3",
    "ReleasedProduct",
    "SalesOrderHeader",
    "SalesOrderLine",
    "SalesPriceAgreement",
    "SalesUnit",
]


class CustomerV3(Message):
    """A customer (`CustomersV3`), key (dataAreaId, CustomerAccount)."""

    message_type: ClassVar[str] = "CustomerV3"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    CustomerAccount: str | None = None
    OrganizationName: str | None = None
    SalesCurrencyCode: str | None = None
    CustomerGroupId: str | None = None
    PartyType: str | None = None
    LanguageId: str | None = None
    PriceCustomerGroupCode: str | None = None
    DeliveryAddressStreet: str | None = None
    DeliveryAddressCity: str | None = None
    DeliveryAddressZipCode: str | None = None
    DeliveryAddressCountryRegionISOCode: str | None = None
    PrimaryContactEmail: str | None = None
    CreditLimit: Decimal | None = None


class ContactPersonV2(Message):
    """A customer contact (`ContactPersonsV2`), key (dataAreaId, ContactPersonId)."""

    message_type: ClassVar[str] = "ContactPersonV2"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    ContactPersonId: str | None = None
    # Not in the entity's MAPPINGS row: identifies a contact SCM has not numbered yet, so that
    # SCM can answer with its ContactPersonId (as CDSSalesOrderId does for orders).
    CDSContactId: UUID | None = None
    AssociatedContactNumber: str | None = None
    AssociatedContactType: str | None = None
    FirstName: str | None = None
    LastName: str | None = None
    PrimaryEmailAddress: str | None = None
    PrimaryPhoneNumber: str | None = None
    LanguageId: str | None = None


class SalesOrderLine(Record):
    """A sales order line (`SalesOrderLines`), key (order number, LineCreationSequenceNumber)."""

    SalesOrderNumber: str | None = None
    LineCreationSequenceNumber: int | None = None
    ProductNumber: str | None = None
    OrderedSalesQuantity: Decimal | None = None
    SalesUnitSymbol: str | None = None
    SalesPrice: Decimal | None = None
    LineAmount: Decimal | None = None
    DeliveryAddressCountryRegionISOCode: str | None = None
    DeliveryAddressDescription: str | None = None
    RequestedReceiptDate: date | None = None
    ShippingSiteId: str | None = None
    ShippingWarehouseId: str | None = None


class SalesOrderHeader(Message):
    """A sales order (`SalesOrderHeaders`) with all its lines: one message per order."""

    message_type: ClassVar[str] = "SalesOrderHeader"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    SalesOrderNumber: str | None = None
    CDSSalesOrderId: UUID | None = None
    SalesOrderName: str | None = None
    OrderingCustomerAccountNumber: str | None = None
    InvoiceCustomerAccountNumber: str | None = None
    ContactPersonId: str | None = None
    CurrencyCode: str | None = None
    PriceCustomerGroupCode: str | None = None
    LanguageId: str | None = None
    DeliveryAddressCountryRegionISOCode: str | None = None
    DeliveryAddressDescription: str | None = None
    DeliveryAddressStreet: str | None = None
    DeliveryAddressCity: str | None = None
    DeliveryAddressZipCode: str | None = None
    RequestedReceiptDate: date | None = None
    CustomerRequisitionNumber: str | None = None
    # SCM's own vocabulary (Active, Confirmed, ...); the value map, not the contract, knows it.
    SalesOrderProcessingStatus: str | None = None
    OrderTotalAmount: Decimal | None = None
    lines: list[SalesOrderLine] = Field(default_factory=list)


class SalesUnit(Record):
    """A unit a released product sells in, with its factor to the default sales unit."""

    Symbol: str
    Factor: Decimal


class ReleasedProduct(Message):
    """A released product (`ReleasedProducts`), key (dataAreaId, ProductNumber)."""

    message_type: ClassVar[str] = "ReleasedProduct"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    ProductNumber: str | None = None
    ProductName: str | None = None
    SalesUnitSymbol: str | None = None
    SalesUnits: list[SalesUnit] = Field(default_factory=list)
    SalesPrice: Decimal | None = None
    DefaultShippingSiteId: str | None = None
    DefaultShippingWarehouseId: str | None = None


class SalesPriceAgreement(Message):
    """A price-list price (`SalesPriceAgreements`), key (price group, product, unit)."""

    message_type: ClassVar[str] = "SalesPriceAgreement"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    PriceCustomerGroupCode: str | None = None
    ProductNumber: str | None = None
    QuantityUnitSymbol: str | None = None
    Price: Decimal | None = None
    PriceCurrencyCode: str | None = None
