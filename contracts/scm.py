"""SCM (Supply-Chain-Management-like) records; attributes are the OData field names.

Top-level records are `Message`s: they travel on the scm.* topics (and come back on
scm.inbound.v1) as payloads. As in `contracts.cds`, fields that MAPPINGS.md marks required
are optional here so that the mapping can dead-letter a record naming the missing field;
types are strict. Money and quantities are `Decimal`, written as JSON strings; text and
numbers are bounded (contracts.bounds) so that every record can be stored.
"""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from contracts.bounds import (
    MAX_ORDER_LINES,
    Amount,
    Code,
    Email,
    IsoDate,
    LineNumber,
    Name,
    Quantity,
    Street,
    UnitFactor,
)
from contracts.bounds import Price as _Price
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
    CustomerAccount: Code | None = None
    OrganizationName: Name | None = None
    SalesCurrencyCode: Code | None = None
    CustomerGroupId: Code | None = None
    PartyType: Code | None = None
    LanguageId: Code | None = None
    PriceCustomerGroupCode: Code | None = None
    DeliveryAddressStreet: Street | None = None
    DeliveryAddressCity: Name | None = None
    DeliveryAddressZipCode: Code | None = None
    DeliveryAddressCountryRegionISOCode: Code | None = None
    PrimaryContactEmail: Email | None = None
    CreditLimit: Amount | None = None


class ContactPersonV2(Message):
    """A customer contact (`ContactPersonsV2`), key (dataAreaId, ContactPersonId)."""

    message_type: ClassVar[str] = "ContactPersonV2"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    ContactPersonId: Code | None = None
    # Not in the entity's MAPPINGS row: identifies a contact SCM has not numbered yet, so that
    # SCM can answer with its ContactPersonId (as CDSSalesOrderId does for orders).
    CDSContactId: UUID | None = None
    AssociatedContactNumber: Code | None = None
    AssociatedContactType: Code | None = None
    FirstName: Name | None = None
    LastName: Name | None = None
    PrimaryEmailAddress: Email | None = None
    PrimaryPhoneNumber: Code | None = None
    LanguageId: Code | None = None


class SalesOrderLine(Record):
    """A sales order line (`SalesOrderLines`), key (order number, LineCreationSequenceNumber)."""

    SalesOrderNumber: Code | None = None
    LineCreationSequenceNumber: LineNumber | None = None
    ProductNumber: Code | None = None
    OrderedSalesQuantity: Quantity | None = None
    SalesUnitSymbol: Code | None = None
    SalesPrice: _Price | None = None
    LineAmount: Amount | None = None
    DeliveryAddressCountryRegionISOCode: Code | None = None
    DeliveryAddressDescription: Name | None = None
    RequestedReceiptDate: IsoDate | None = None
    ShippingSiteId: Code | None = None
    ShippingWarehouseId: Code | None = None


class SalesOrderHeader(Message):
    """A sales order (`SalesOrderHeaders`) with all its lines: one message per order."""

    message_type: ClassVar[str] = "SalesOrderHeader"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    SalesOrderNumber: Code | None = None
    CDSSalesOrderId: UUID | None = None
    SalesOrderName: Name | None = None
    OrderingCustomerAccountNumber: Code | None = None
    InvoiceCustomerAccountNumber: Code | None = None
    ContactPersonId: Code | None = None
    CurrencyCode: Code | None = None
    PriceCustomerGroupCode: Code | None = None
    LanguageId: Code | None = None
    DeliveryAddressCountryRegionISOCode: Code | None = None
    DeliveryAddressDescription: Name | None = None
    DeliveryAddressStreet: Street | None = None
    DeliveryAddressCity: Name | None = None
    DeliveryAddressZipCode: Code | None = None
    RequestedReceiptDate: IsoDate | None = None
    CustomerRequisitionNumber: Code | None = None
    # SCM's own vocabulary (Active, Confirmed, ...); the value map, not the contract, knows it.
    SalesOrderProcessingStatus: Code | None = None
    OrderTotalAmount: Amount | None = None
    lines: Annotated[list[SalesOrderLine], Field(max_length=MAX_ORDER_LINES)] = Field(
        default_factory=list
    )


class SalesUnit(Record):
    """A unit a released product sells in, with its factor to the default sales unit."""

    Symbol: Code
    Factor: UnitFactor


class ReleasedProduct(Message):
    """A released product (`ReleasedProducts`), key (dataAreaId, ProductNumber)."""

    message_type: ClassVar[str] = "ReleasedProduct"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    ProductNumber: Code | None = None
    ProductName: Name | None = None
    SalesUnitSymbol: Code | None = None
    SalesUnits: list[SalesUnit] = Field(default_factory=list, max_length=100)
    SalesPrice: _Price | None = None
    DefaultShippingSiteId: Code | None = None
    DefaultShippingWarehouseId: Code | None = None


class SalesPriceAgreement(Message):
    """A price-list price (`SalesPriceAgreements`), key (price group, product, unit)."""

    message_type: ClassVar[str] = "SalesPriceAgreement"
    schema_version: ClassVar[int] = 1

    dataAreaId: CompanyCode | None = None
    PriceCustomerGroupCode: Code | None = None
    ProductNumber: Code | None = None
    QuantityUnitSymbol: Code | None = None
    # The bounded type under another name: this field's own name would shadow it.
    Price: _Price | None = None
    PriceCurrencyCode: Code | None = None
