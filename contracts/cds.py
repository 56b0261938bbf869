"""CDS (Dataverse-like) records; JSON keys are the logical names of MAPPINGS.md.

Attributes have readable snake_case names; each JSON key is the logical name via its alias
(a dotted key such as `transactioncurrencyid.isocurrencycode` is a lookup's field). The
models are permissive about presence and strict about types: a field that MAPPINGS.md marks
required is still optional here, because a record missing it must reach the mapping, which
dead-letters it naming the field. Money and quantities are `Decimal`, written as JSON strings.
Text and numbers are bounded (contracts.bounds) so that every record can be stored.
"""

from __future__ import annotations

from typing import Annotated
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
    Price,
    Quantity,
    Street,
    UnitFactor,
)
from contracts.envelope import Record
from contracts.values import CompanyCode, OrderSyncStatus, WebRole

__all__ = [
    "Account",
    "Contact",
    "Product",
    "ProductPriceLevel",
    "ProductUnit",
    "SalesOrder",
    "SalesOrderDetail",
]


class Account(Record):
    """A customer account (`account`), matched with SCM `CustomersV3`."""

    account_number: Code | None = Field(default=None, alias="accountnumber")
    name: Name | None = None
    currency: Code | None = Field(default=None, alias="transactioncurrencyid.isocurrencycode")
    customer_group: Code | None = Field(default=None, alias="msdyn_customergroupid")
    language: Code | None = Field(default=None, alias="msdyn_languageid")
    price_list: Code | None = Field(default=None, alias="defaultpricelevelid.name")
    address_street: Street | None = Field(default=None, alias="address1_line1")
    address_city: Name | None = Field(default=None, alias="address1_city")
    address_postal_code: Code | None = Field(default=None, alias="address1_postalcode")
    address_country: Code | None = Field(default=None, alias="address1_country")
    email: Email | None = Field(default=None, alias="emailaddress1")
    credit_limit: Amount | None = Field(default=None, alias="creditlimit")
    company: CompanyCode | None = Field(default=None, alias="msdyn_company")


class Contact(Record):
    """A contact (`contact`), matched with SCM `ContactPersonsV2`, plus portal-only fields."""

    contact_id: UUID = Field(alias="contactid")
    contact_person_id: Code | None = Field(default=None, alias="msdyn_contactpersonid")
    account_number: Code | None = Field(default=None, alias="parentcustomerid.accountnumber")
    first_name: Name | None = Field(default=None, alias="firstname")
    last_name: Name | None = Field(default=None, alias="lastname")
    email: Email | None = Field(default=None, alias="emailaddress1")
    phone: Code | None = Field(default=None, alias="telephone1")
    language: Code | None = Field(default=None, alias="msdyn_languageid")
    company: CompanyCode | None = Field(default=None, alias="msdyn_company")
    # Portal-only: never synced to SCM.
    price_list: Code | None = Field(default=None, alias="msdyn_pricelevelid")
    ship_to_country: Code | None = Field(default=None, alias="msdyn_shiptocountryregion")
    currency: Code | None = Field(default=None, alias="transactioncurrencyid.isocurrencycode")
    web_roles: list[WebRole] = Field(default_factory=list, alias="adx_webroles", max_length=3)


class SalesOrderDetail(Record):
    """A sales order line (`salesorderdetail`), matched with SCM `SalesOrderLines`."""

    sequence_number: LineNumber | None = Field(default=None, alias="sequencenumber")
    product_number: Code | None = Field(default=None, alias="productid.msdyn_productnumber")
    quantity: Quantity | None = None
    unit: Code | None = Field(default=None, alias="uomid.msdyn_symbol")
    price_per_unit: Price | None = Field(default=None, alias="priceperunit")
    extended_amount: Amount | None = Field(default=None, alias="extendedamount")
    ship_to_country: Code | None = Field(default=None, alias="shipto_country")
    delivery_address_description: Name | None = Field(
        default=None, alias="msdyn_deliveryaddressdescription"
    )
    requested_receipt_date: IsoDate | None = Field(default=None, alias="msdyn_requestedreceiptdate")


class SalesOrder(Record):
    """A sales order (`salesorder`) with its lines, matched with SCM `SalesOrderHeaders`."""

    sales_order_id: UUID = Field(alias="salesorderid")
    sales_order_number: Code | None = Field(default=None, alias="msdyn_salesordernumber")
    name: Name | None = None
    customer_account: Code | None = Field(default=None, alias="customerid.accountnumber")
    invoice_account: Code | None = Field(default=None, alias="msdyn_invoicecustomer.accountnumber")
    contact_person_id: Code | None = Field(
        default=None, alias="msdyn_contactperson.msdyn_contactpersonid"
    )
    currency: Code | None = Field(default=None, alias="transactioncurrencyid.isocurrencycode")
    price_list: Code | None = Field(default=None, alias="pricelevelid.name")
    language: Code | None = Field(default=None, alias="msdyn_language")
    ship_to_country: Code | None = Field(default=None, alias="shipto_country")
    delivery_address_description: Name | None = Field(
        default=None, alias="msdyn_deliveryaddressdescription"
    )
    ship_to_street: Street | None = Field(default=None, alias="shipto_line1")
    ship_to_city: Name | None = Field(default=None, alias="shipto_city")
    ship_to_postal_code: Code | None = Field(default=None, alias="shipto_postalcode")
    requested_receipt_date: IsoDate | None = Field(default=None, alias="msdyn_requestedreceiptdate")
    requisition_number: Code | None = Field(default=None, alias="msdyn_customerrequisitionnumber")
    # The portal's status vocabulary; the map translates SCM's SalesOrderProcessingStatus.
    processing_status: OrderSyncStatus | None = Field(default=None, alias="msdyn_processingstatus")
    total_amount: Amount | None = Field(default=None, alias="totalamount")
    company: CompanyCode | None = Field(default=None, alias="msdyn_company")
    lines: Annotated[list[SalesOrderDetail], Field(max_length=MAX_ORDER_LINES)] = Field(
        default_factory=list
    )


class ProductUnit(Record):
    """A unit a product sells in, with its factor to the product's default unit."""

    symbol: Code = Field(alias="msdyn_symbol")
    factor: UnitFactor = Field(alias="msdyn_factor")


class Product(Record):
    """A released product (`product`), owned by SCM (`ReleasedProducts`)."""

    product_number: Code | None = Field(default=None, alias="msdyn_productnumber")
    name: Name | None = None
    default_unit: Code | None = Field(default=None, alias="defaultuomid.msdyn_symbol")
    units: list[ProductUnit] = Field(default_factory=list, alias="msdyn_units", max_length=100)
    price: Price | None = None
    default_site: Code | None = Field(default=None, alias="msdyn_defaultsite")
    default_warehouse: Code | None = Field(default=None, alias="msdyn_defaultwarehouse")
    company: CompanyCode | None = Field(default=None, alias="msdyn_company")


class ProductPriceLevel(Record):
    """A price-list price (`productpricelevel`), owned by SCM (`SalesPriceAgreements`)."""

    price_list: Code | None = Field(default=None, alias="pricelevelid.name")
    product_number: Code | None = Field(default=None, alias="productid.msdyn_productnumber")
    unit: Code | None = Field(default=None, alias="uomid.msdyn_symbol")
    amount: Price | None = None
    currency: Code | None = Field(default=None, alias="transactioncurrencyid.isocurrencycode")
    company: CompanyCode | None = Field(default=None, alias="msdyn_company")
