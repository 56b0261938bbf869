"""Values no consumer could store are refused at decode, naming the field; the rest pass."""

from __future__ import annotations

import json
from decimal import Context, Decimal, Inexact
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from contracts.bounds import (
    AMOUNT_PLACES,
    AMOUNT_WHOLE_DIGITS,
    CODE_MAX,
    MAX_JSON_DEPTH,
    MAX_ORDER_LINES,
    NAME_MAX,
    STREET_MAX,
)
from contracts.cds import SalesOrder, SalesOrderDetail
from contracts.commands import SubmitOrder, UpsertContact
from contracts.envelope import envelope, to_json_bytes
from contracts.errors import InvalidMessage
from contracts.export import export_contracts
from contracts.registry import decode
from contracts.scm import ContactPersonV2, SalesOrderHeader
from tests.contracts.samples import SAMPLES

RTL_MARK = "\u200f"


def _wire(message_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        to_json_bytes(envelope(SAMPLES[message_type], origin="scm", company="usmf"))
    )
    return data


def _refused_fields(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data))
    return {error.field: error.message for error in caught.value.errors}


HOSTILE_TEXT = [
    pytest.param("A\u0000B", "control characters", id="nul"),
    pytest.param("A\u001bB", "control characters", id="escape"),
    pytest.param("A\u0085B", "control characters", id="c1-next-line"),
    pytest.param("A\ud800B", "lone surrogate", id="lone-surrogate"),
    pytest.param("x" * 100_000, "at most", id="100-kb"),
]


@pytest.mark.parametrize(("value", "why"), HOSTILE_TEXT)
@pytest.mark.parametrize(
    ("message_type", "path"),
    [
        ("SalesOrderHeader", ("DeliveryAddressStreet",)),
        ("SalesOrderHeader", ("CustomerRequisitionNumber",)),
        ("SalesOrderHeader", ("lines", 0, "ProductNumber")),
        ("ContactPersonV2", ("FirstName",)),
        ("CustomerV3", ("OrganizationName",)),
        ("SubmitOrder", ("delivery_address", "street")),
        ("SubmitOrder", ("requisition_number",)),
        ("UpsertContact", ("firstname",)),
        ("OrderSubmitted", ("order", "shipto_line1")),
    ],
)
def test_text_no_consumer_can_store_is_an_invalid_message_naming_the_field(
    message_type: str, path: tuple[str | int, ...], value: str, why: str
) -> None:
    data = _wire(message_type)
    target = data["payload"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    refused = _refused_fields(data)
    field = ".".join(["payload", *map(str, path)])
    assert list(refused) == [field]
    assert why in refused[field]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1E-20000", id="tiny-exponent"),
        pytest.param("1E+999999", id="huge-exponent"),
        pytest.param("NaN", id="nan-text"),
        pytest.param("Infinity", id="infinity-text"),
        pytest.param("0.0000001", id="seven-places"),
        pytest.param("1000000000000", id="thirteen-digits"),
        pytest.param(" 2", id="space"),
    ],
)
def test_quantities_beyond_the_bounds_are_invalid_messages(value: str) -> None:
    data = _wire("SalesOrderHeader")
    data["payload"]["lines"][0]["OrderedSalesQuantity"] = value
    refused = _refused_fields(data)
    assert list(refused) == ["payload.lines.0.OrderedSalesQuantity"]
    assert "12 digits before the point and 6 after it" in refused[next(iter(refused))]


@pytest.mark.parametrize("number", ["1e-20000", "1e+999999", "0.0000001", "1e12"])
def test_json_numbers_beyond_the_bounds_are_invalid_messages(number: str) -> None:
    raw = json.dumps(_wire("SubmitOrder")).replace('"quantity": "2"', f'"quantity": {number}')
    assert number in raw
    with pytest.raises(InvalidMessage) as caught:
        decode(raw)
    assert [e.field for e in caught.value.errors] == ["payload.lines.0.quantity"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_numbers_are_invalid_messages(constant: str) -> None:
    raw = json.dumps(_wire("SubmitOrder")).replace('"quantity": "2"', f'"quantity": {constant}')
    with pytest.raises(InvalidMessage):
        decode(raw)


def test_the_largest_values_in_bounds_are_decoded() -> None:
    data = _wire("SalesOrderHeader")
    data["payload"]["DeliveryAddressStreet"] = "1 Main St\r\nBuilding 2\tFloor 3" + (
        "x" * (STREET_MAX - 30)
    )
    data["payload"]["SalesOrderName"] = "n" * NAME_MAX
    data["payload"]["CustomerRequisitionNumber"] = "r" * CODE_MAX
    line = data["payload"]["lines"][0]
    line["OrderedSalesQuantity"] = "-999999999999.999999"
    line["SalesPrice"] = "999999999999999.999999"
    line["LineAmount"] = "9" * AMOUNT_WHOLE_DIGITS + "." + "9" * AMOUNT_PLACES
    decoded = decode(json.dumps(data)).payload
    assert isinstance(decoded, SalesOrderHeader)
    assert decoded.lines[0].OrderedSalesQuantity == Decimal("-999999999999.999999")


def test_the_largest_price_times_the_largest_quantity_summed_over_every_line_is_an_amount() -> None:
    # The portal's own arithmetic (an amount, an order total) must always fit its contract.
    exact = Context(prec=64, traps=[Inexact])
    price, quantity = Decimal("999999999999999.999999"), Decimal("999999999999.999999")
    amount = exact.multiply(price, quantity)
    total = exact.multiply(amount, MAX_ORDER_LINES)
    line = SalesOrderDetail(price_per_unit=price, quantity=quantity, extended_amount=amount)
    order = SalesOrder(sales_order_id=uuid4(), lines=[line] * MAX_ORDER_LINES, total_amount=total)
    assert order.total_amount == total
    assert order.lines[0].extended_amount == amount


def test_right_to_left_marks_and_other_format_characters_are_kept() -> None:
    data = _wire("ContactPersonV2")
    name = f"{RTL_MARK}\u05d3\u05e0\u05d4{RTL_MARK} \u200dx"
    data["payload"]["FirstName"] = name
    decoded = decode(json.dumps(data)).payload
    assert isinstance(decoded, ContactPersonV2)
    assert decoded.FirstName == name


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 5_000, 100_000])
def test_json_nested_deeper_than_the_limit_is_an_invalid_message(depth: int) -> None:
    raw = json.dumps(_wire("SalesOrderHeader"))[:-1] + ', "deep": ' + "[" * depth + "]" * depth
    with pytest.raises(InvalidMessage) as caught:
        decode(raw + "}")
    assert [e.field for e in caught.value.errors] == ["$"]
    assert f"deeper than {MAX_JSON_DEPTH}" in caught.value.errors[0].message


def test_an_unclosed_run_of_brackets_is_an_invalid_message() -> None:
    with pytest.raises(InvalidMessage):
        decode("[" * 262_144)


def test_nesting_within_the_limit_reaches_validation() -> None:
    # Under the limit the record is parsed, and the closed models name the unknown key.
    raw = json.dumps(_wire("SalesOrderHeader"))[:-1] + ', "deep": ' + "[" * 20 + "]" * 20
    with pytest.raises(InvalidMessage) as caught:
        decode(raw + "}")
    assert [e.field for e in caught.value.errors] == ["deep"]


def test_commands_refuse_the_hostile_values_the_api_would_have_sent() -> None:
    sample = SAMPLES["SubmitOrder"]
    assert isinstance(sample, SubmitOrder)
    with pytest.raises(ValueError, match="requisition_number"):
        SubmitOrder.model_validate({**sample.model_dump(), "requisition_number": "R\x00"})
    with pytest.raises(ValueError, match="firstname"):
        UpsertContact.model_validate({**SAMPLES["UpsertContact"].model_dump(), "firstname": "\0"})


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("contracts")
    export_contracts(directory)
    return directory


def test_exported_schemas_state_the_bounds(exported: Path) -> None:
    schema = json.loads((exported / "schemas" / "scm" / "SalesOrderHeader.v1.json").read_text())
    line = schema["$defs"]["SalesOrderLine"]["properties"]
    quantity = line["OrderedSalesQuantity"]["anyOf"][0]
    assert quantity["anyOf"][0] == {"type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"}
    assert quantity["anyOf"][1]["exclusiveMaximum"] == 10**12
    street = schema["properties"]["DeliveryAddressStreet"]["anyOf"][0]
    assert street["maxLength"] == STREET_MAX
    assert "\\x00" in street["pattern"]
    assert schema["properties"]["lines"]["maxItems"] == 1000
    order = json.loads((exported / "schemas" / "SubmitOrder.v1.json").read_text())
    city = order["$defs"]["DeliveryAddress"]["properties"]["city"]
    assert city["maxLength"] == NAME_MAX
