"""CDS records speak Dataverse logical names, SCM records OData names; Decimals are exact."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from contracts.cds import Account, Contact, Product, ProductPriceLevel, SalesOrder
from contracts.commands import SubmitOrder
from contracts.envelope import envelope, to_json_bytes
from contracts.errors import InvalidMessage
from contracts.events import CustomerAccountUpserted
from contracts.registry import decode
from contracts.scm import (
    ContactPersonV2,
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesPriceAgreement,
)
from tests.contracts.samples import ACCOUNT, CONTACT, PRICE, PRODUCT, SALES_ORDER, SAMPLES

CDS_KEYS: dict[str, tuple[BaseModel, set[str]]] = {
    "account": (
        ACCOUNT,
        {
            "accountnumber",
            "name",
            "transactioncurrencyid.isocurrencycode",
            "msdyn_customergroupid",
            "msdyn_languageid",
            "defaultpricelevelid.name",
            "address1_line1",
            "address1_city",
            "address1_postalcode",
            "address1_country",
            "emailaddress1",
            "creditlimit",
            "msdyn_company",
        },
    ),
    "contact": (
        CONTACT,
        {
            "contactid",
            "msdyn_contactpersonid",
            "parentcustomerid.accountnumber",
            "firstname",
            "lastname",
            "emailaddress1",
            "telephone1",
            "msdyn_languageid",
            "msdyn_company",
            "msdyn_pricelevelid",
            "msdyn_shiptocountryregion",
            "transactioncurrencyid.isocurrencycode",
            "adx_webroles",
        },
    ),
    "salesorder": (
        SALES_ORDER,
        {
            "salesorderid",
            "msdyn_salesordernumber",
            "name",
            "customerid.accountnumber",
            "msdyn_invoicecustomer.accountnumber",
            "msdyn_contactperson.msdyn_contactpersonid",
            "transactioncurrencyid.isocurrencycode",
            "pricelevelid.name",
            "msdyn_language",
            "shipto_country",
            "msdyn_deliveryaddressdescription",
            "shipto_line1",
            "shipto_city",
            "shipto_postalcode",
            "msdyn_requestedreceiptdate",
            "msdyn_customerrequisitionnumber",
            "msdyn_processingstatus",
            "totalamount",
            "msdyn_company",
            "lines",
        },
    ),
    "salesorderdetail": (
        SALES_ORDER.lines[0],
        {
            "sequencenumber",
            "productid.msdyn_productnumber",
            "quantity",
            "uomid.msdyn_symbol",
            "priceperunit",
            "extendedamount",
            "shipto_country",
            "msdyn_deliveryaddressdescription",
            "msdyn_requestedreceiptdate",
        },
    ),
    "product": (
        PRODUCT,
        {
            "msdyn_productnumber",
            "name",
            "defaultuomid.msdyn_symbol",
            "msdyn_units",
            "price",
            "msdyn_defaultsite",
            "msdyn_defaultwarehouse",
            "msdyn_company",
        },
    ),
    "productpricelevel": (
        PRICE,
        {
            "pricelevelid.name",
            "productid.msdyn_productnumber",
            "uomid.msdyn_symbol",
            "amount",
            "transactioncurrencyid.isocurrencycode",
            "msdyn_company",
        },
    ),
}

SCM_KEYS: dict[str, set[str]] = {
    "CustomerV3": {
        "dataAreaId",
        "CustomerAccount",
        "OrganizationName",
        "SalesCurrencyCode",
        "CustomerGroupId",
        "PartyType",
        "LanguageId",
        "PriceCustomerGroupCode",
        "DeliveryAddressStreet",
        "DeliveryAddressCity",
        "DeliveryAddressZipCode",
        "DeliveryAddressCountryRegionISOCode",
        "PrimaryContactEmail",
        "CreditLimit",
    },
    "ContactPersonV2": {
        "dataAreaId",
        "ContactPersonId",
        "CDSContactId",
        "AssociatedContactNumber",
        "AssociatedContactType",
        "FirstName",
        "LastName",
        "PrimaryEmailAddress",
        "PrimaryPhoneNumber",
        "LanguageId",
    },
    "SalesOrderHeader": {
        "dataAreaId",
        "SalesOrderNumber",
        "CDSSalesOrderId",
        "SalesOrderName",
        "OrderingCustomerAccountNumber",
        "InvoiceCustomerAccountNumber",
        "ContactPersonId",
        "CurrencyCode",
        "PriceCustomerGroupCode",
        "LanguageId",
        "DeliveryAddressCountryRegionISOCode",
        "DeliveryAddressDescription",
        "DeliveryAddressStreet",
        "DeliveryAddressCity",
        "DeliveryAddressZipCode",
        "RequestedReceiptDate",
        "CustomerRequisitionNumber",
        "SalesOrderProcessingStatus",
        "OrderTotalAmount",
        "lines",
    },
    "ReleasedProduct": {
        "dataAreaId",
        "ProductNumber",
        "ProductName",
        "SalesUnitSymbol",
        "SalesUnits",
        "SalesPrice",
        "DefaultShippingSiteId",
        "DefaultShippingWarehouseId",
    },
    "SalesPriceAgreement": {
        "dataAreaId",
        "PriceCustomerGroupCode",
        "ProductNumber",
        "QuantityUnitSymbol",
        "Price",
        "PriceCurrencyCode",
    },
}
SALES_ORDER_LINE_KEYS = {
    "SalesOrderNumber",
    "LineCreationSequenceNumber",
    "ProductNumber",
    "OrderedSalesQuantity",
    "SalesUnitSymbol",
    "SalesPrice",
    "LineAmount",
    "DeliveryAddressCountryRegionISOCode",
    "DeliveryAddressDescription",
    "RequestedReceiptDate",
    "ShippingSiteId",
    "ShippingWarehouseId",
}


JANE_ID = str(CONTACT.contact_id)


def _json(model: BaseModel) -> dict[str, object]:
    data: dict[str, object] = json.loads(model.model_dump_json())
    return data


@pytest.mark.parametrize("entity", sorted(CDS_KEYS))
def test_cds_json_keys_are_the_logical_names(entity: str) -> None:
    record, keys = CDS_KEYS[entity]
    assert set(_json(record)) == keys
    # model_dump (not only the codec) uses the wire names, so nobody writes snake_case by mistake
    assert set(record.model_dump()) == keys


def test_cds_nested_json_uses_logical_names_inside_envelopes() -> None:
    raw = to_json_bytes(envelope(SAMPLES["OrderSubmitted"], origin="portal", company="usmf"))
    order = json.loads(raw)["payload"]["order"]
    assert order["transactioncurrencyid.isocurrencycode"] == "USD"
    assert order["lines"][0]["productid.msdyn_productnumber"] == "D0001"
    assert order["lines"][0]["uomid.msdyn_symbol"] == "box"
    product = json.loads(
        to_json_bytes(envelope(SAMPLES["ProductUpserted"], origin="scm", company="usmf"))
    )
    assert product["payload"]["product"]["msdyn_units"][1] == {
        "msdyn_symbol": "box",
        "msdyn_factor": "12",
    }


def test_cds_records_accept_the_logical_name_and_the_readable_name() -> None:
    by_alias = Account.model_validate({"transactioncurrencyid.isocurrencycode": "USD"})
    by_name = Account.model_validate({"currency": "USD"})
    assert by_alias == by_name
    assert by_alias.currency == "USD"


@pytest.mark.parametrize("message_type", sorted(SCM_KEYS))
def test_scm_json_keys_are_the_odata_names(message_type: str) -> None:
    assert set(_json(SAMPLES[message_type])) == SCM_KEYS[message_type]


def test_scm_sales_order_travels_with_its_lines_in_odata_names() -> None:
    header = _json(SAMPLES["SalesOrderHeader"])
    lines = header["lines"]
    assert isinstance(lines, list)
    assert set(lines[0]) == SALES_ORDER_LINE_KEYS
    units = _json(SAMPLES["ReleasedProduct"])["SalesUnits"]
    assert units == [{"Symbol": "ea", "Factor": "1"}, {"Symbol": "box", "Factor": "12"}]


@pytest.mark.parametrize(
    "model",
    [Account, Product, ProductPriceLevel, CustomerV3, ContactPersonV2, SalesOrderHeader,
     ReleasedProduct, SalesPriceAgreement],
)  # fmt: skip
def test_records_are_permissive_about_presence(model: type[BaseModel]) -> None:
    # The mapping, not the model, refuses a record without a required field, naming it.
    assert model.model_validate({}) == model()


def test_records_keep_their_keys() -> None:
    with pytest.raises(ValidationError, match="contactid"):
        Contact.model_validate({"lastname": "Contoso"})
    with pytest.raises(ValidationError, match="salesorderid"):
        SalesOrder.model_validate({"name": "sales order"})


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Account, {"creditlimit": "a lot"}, "creditlimit"),
        (Account, {"name": 42}, "name"),
        (Contact, {"contactid": "not-a-uuid"}, "contactid"),
        (Contact, {"contactid": JANE_ID, "adx_webroles": ["owner"]}, "adx_webroles.0"),
        (SalesOrder, {"salesorderid": JANE_ID, "msdyn_processingstatus": "lost"},
         "msdyn_processingstatus"),
        (SalesOrderHeader, {"RequestedReceiptDate": "next week"}, "RequestedReceiptDate"),
        (SalesOrderHeader, {"lines": [{"OrderedSalesQuantity": "two"}]},
         "lines.0.OrderedSalesQuantity"),
        (CustomerV3, {"CustomerAccount": "US-001", "Unknown": 1}, "Unknown"),
    ],
)  # fmt: skip
def test_records_are_strict_about_types(
    model: type[BaseModel], data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [field]


def test_company_is_normalised_on_both_sides() -> None:
    assert Account(company="USMF").company == "usmf"
    assert CustomerV3(dataAreaId="USMF").dataAreaId == "usmf"


@pytest.mark.parametrize(
    "value",
    ["0.1", "123.40", "-0.00", "123456789012345678901234567890.123456789012"],
)
def test_decimals_travel_as_strings_and_round_trip_exactly(value: str) -> None:
    payload = CustomerAccountUpserted(account=Account(credit_limit=Decimal(value)))
    raw = to_json_bytes(envelope(payload, origin="scm", company="usmf"))
    assert json.loads(raw)["payload"]["account"]["creditlimit"] == value
    decoded = decode(raw).payload
    assert isinstance(decoded, CustomerAccountUpserted)
    assert decoded.account.credit_limit is not None
    assert str(decoded.account.credit_limit) == value  # same digits and exponent, not just equal


@pytest.mark.parametrize(("value", "wire"), [("1E+3", "1000"), ("1E-12", "0.000000000001")])
def test_decimals_travel_in_plain_digits_never_with_an_exponent(value: str, wire: str) -> None:
    payload = CustomerAccountUpserted(account=Account(credit_limit=Decimal(value)))
    raw = to_json_bytes(envelope(payload, origin="scm", company="usmf"))
    assert json.loads(raw)["payload"]["account"]["creditlimit"] == wire
    decoded = decode(raw).payload
    assert isinstance(decoded, CustomerAccountUpserted)
    assert decoded.account.credit_limit == Decimal(value)


def test_decimals_sent_as_json_numbers_are_read_exactly() -> None:
    data = json.loads(to_json_bytes(envelope(SAMPLES["CustomerV3"], origin="scm", company="usmf")))
    # 29 significant digits: a float would keep 17 of them.
    raw = json.dumps(data).replace('"25000.00"', "12345678901234567.123456789012")
    decoded = decode(raw).payload
    assert isinstance(decoded, CustomerV3)
    assert decoded.CreditLimit == Decimal("12345678901234567.123456789012")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_decimals_must_be_finite(value: str) -> None:
    with pytest.raises(ValidationError):
        Account.model_validate({"creditlimit": value})
    data = json.loads(to_json_bytes(envelope(SAMPLES["CustomerV3"], origin="scm", company="usmf")))
    data["payload"]["CreditLimit"] = value
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data))
    assert [e.field for e in caught.value.errors] == ["payload.CreditLimit"]


def test_bare_nan_literal_in_json_is_refused() -> None:
    raw = to_json_bytes(envelope(SAMPLES["CustomerV3"], origin="scm", company="usmf"))
    with pytest.raises(InvalidMessage):
        decode(raw.replace(b'"25000.00"', b"NaN"))


def test_quantity_of_a_requested_line_must_be_positive() -> None:
    data = SAMPLES["SubmitOrder"].model_dump(mode="json")
    data["lines"][1]["quantity"] = "0"
    with pytest.raises(ValidationError) as caught:
        SubmitOrder.model_validate(data)
    assert [e["loc"] for e in caught.value.errors()] == [("lines", 1, "quantity")]
