"""SalesOrderHeaders + SalesOrderLines = salesorder + salesorderdetail: one message per order.

Key (company, SalesOrderNumber); before SCM numbers the order, (company, CDSSalesOrderId).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from sync_service.mappings.engine import (
    Default,
    Direction,
    EntityMap,
    FallbackTo,
    Lookup,
    Nested,
    Required,
    ValueMap,
)
from sync_service.mappings.engine import FieldMap as F

__all__ = [
    "PRODUCT_SITE",
    "PRODUCT_WAREHOUSE",
    "SALES_ORDER_LINE_MAP",
    "SALES_ORDER_MAP",
    "STATUS_TO_CDS",
    "STATUS_TO_SCM",
]

_B, _S, _C = Direction.BOTH, Direction.TO_SCM, Direction.TO_CDS
PRODUCT_SITE: Final = "product_default_site"
"""Lookup table: product number -> the released product's default shipping site."""
PRODUCT_WAREHOUSE: Final = "product_default_warehouse"
"""Lookup table: product number -> the released product's default shipping warehouse."""

STATUS_TO_CDS: Final = MappingProxyType(
    {
        "Active": "synced",
        "Confirmed": "confirmed",
        "PickingListProduced": "confirmed",
        "Picked": "confirmed",
        "Delivered": "shipped",
        "Invoiced": "invoiced",
        "Canceled": "canceled",
    }
)
"""SCM's SalesOrderProcessingStatus -> the portal's status (MAPPINGS.md's value map)."""
# pending and sync_failed are the portal's own: SCM has no such status, so they are not sent.
STATUS_TO_SCM: Final = MappingProxyType(
    {
        "synced": "Active",
        "confirmed": "Confirmed",
        "shipped": "Delivered",
        "invoiced": "Invoiced",
        "canceled": "Canceled",
    }
)
"""The portal's status -> SCM's, for the statuses SCM knows."""

_PRODUCT = "productid.msdyn_productnumber"

SALES_ORDER_LINE_MAP: Final = EntityMap(
    name="SalesOrderLines",
    striped=False,  # a line belongs to its order's company
    fields=(
        # The header's number; SCM assigns it, so an unnumbered order's lines go without it.
        F("SalesOrderNumber", _S, None, Required.SCM, numbered_by_scm=True),
        F("LineCreationSequenceNumber", _B, "sequencenumber", Required.BOTH),
        F("ProductNumber", _B, _PRODUCT, Required.BOTH),
        F("OrderedSalesQuantity", _B, "quantity", Required.BOTH),
        F("SalesUnitSymbol", _B, "uomid.msdyn_symbol", Required.BOTH),
        F("SalesPrice", _B, "priceperunit"),
        F("LineAmount", _C, "extendedamount"),
        F("DeliveryAddressCountryRegionISOCode", _B, "shipto_country", Required.BOTH),
        F("DeliveryAddressDescription", _B, "msdyn_deliveryaddressdescription", Required.BOTH),
        F("RequestedReceiptDate", _B, "msdyn_requestedreceiptdate"),
        F("ShippingSiteId", _S, _PRODUCT, Required.SCM, to_scm=Lookup(PRODUCT_SITE)),
        F("ShippingWarehouseId", _S, _PRODUCT, Required.SCM, to_scm=Lookup(PRODUCT_WAREHOUSE)),
    ),
)
"""Order lines; site and warehouse come from the released product's defaults."""

_INVOICE = FallbackTo("customerid.accountnumber")  # defaults to the potential customer
_ADDRESS_NAME = Default("delivery address description")
_STATUS_OUT, _STATUS_IN = ValueMap(STATUS_TO_SCM), ValueMap(STATUS_TO_CDS)

SALES_ORDER_MAP: Final = EntityMap(
    name="SalesOrderHeaders",
    fields=(
        F("SalesOrderNumber", _C, "msdyn_salesordernumber", Required.SCM),
        F("CDSSalesOrderId", _S, "salesorderid"),
        F("SalesOrderName", _C, "name", Required.CDS, to_cds=Default("sales order")),
        F("OrderingCustomerAccountNumber", _B, "customerid.accountnumber", Required.BOTH),
        F("InvoiceCustomerAccountNumber", _B, "msdyn_invoicecustomer.accountnumber",
          Required.SCM, to_scm=_INVOICE),
        F("ContactPersonId", _B, "msdyn_contactperson.msdyn_contactpersonid"),
        F("CurrencyCode", _B, "transactioncurrencyid.isocurrencycode", Required.BOTH),
        F("PriceCustomerGroupCode", _B, "pricelevelid.name", Required.CDS),
        F("LanguageId", _B, "msdyn_language", Required.BOTH),
        F("DeliveryAddressCountryRegionISOCode", _B, "shipto_country", Required.BOTH),
        F("DeliveryAddressDescription", _B, "msdyn_deliveryaddressdescription", Required.BOTH,
          to_cds=_ADDRESS_NAME),
        F("DeliveryAddressStreet", _B, "shipto_line1"),
        F("DeliveryAddressCity", _B, "shipto_city"),
        F("DeliveryAddressZipCode", _B, "shipto_postalcode"),
        F("RequestedReceiptDate", _B, "msdyn_requestedreceiptdate"),
        F("CustomerRequisitionNumber", _B, "msdyn_customerrequisitionnumber"),
        F("SalesOrderProcessingStatus", _B, "msdyn_processingstatus",
          to_scm=_STATUS_OUT, to_cds=_STATUS_IN),
        F("OrderTotalAmount", _C, "totalamount"),
    ),
    children=(Nested("lines", "lines", SALES_ORDER_LINE_MAP),),
)  # fmt: skip
"""A sales order with all its lines (one SCM message)."""
