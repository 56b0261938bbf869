"""`decode` finds the payload class from `type`, validates, and only ever raises ContractErrors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import topics
from contracts.cds import SalesOrder, SalesOrderDetail
from contracts.commands import DeliveryAddress, OrderLineRequest, SubmitOrder
from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.errors import (
    ContractError,
    InvalidMessage,
    UnknownMessageType,
    UnsupportedSchemaVersion,
)
from contracts.events import OrderSubmitted, OrderSyncStatusChanged
from contracts.registry import (
    COMMAND_TYPES,
    EVENT_TYPES,
    MESSAGE_TYPES,
    SCM_RECORD_TYPES,
    TOPIC_MESSAGE_TYPES,
    decode,
    is_supported,
    message_class,
)
from tests.contracts.samples import SAMPLES


def _wire(message_type: str = "SubmitOrder") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        to_json_bytes(envelope(SAMPLES[message_type], origin="portal", company="usmf"))
    )
    return data


def test_every_command_event_and_scm_record_is_registered_under_its_type() -> None:
    expected = {cls.message_type: cls for cls in (*COMMAND_TYPES, *EVENT_TYPES, *SCM_RECORD_TYPES)}
    assert {k: v for k, v in MESSAGE_TYPES.items() if k != "DeadLetter"} == expected
    assert len(COMMAND_TYPES) == 5
    assert len(EVENT_TYPES) == 10
    for message_type, cls in MESSAGE_TYPES.items():
        assert message_class(message_type) is cls
        assert cls.message_type == message_type == cls.__name__
        assert is_supported(message_type, cls.schema_version)


def test_each_topic_carries_its_message_types() -> None:
    assert tuple(TOPIC_MESSAGE_TYPES) == topics.ALL_TOPICS
    assert TOPIC_MESSAGE_TYPES[topics.PORTAL_COMMANDS] == COMMAND_TYPES
    assert TOPIC_MESSAGE_TYPES[topics.CDS_EVENTS] == EVENT_TYPES
    assert [c.message_type for c in TOPIC_MESSAGE_TYPES[topics.SCM_SALESORDERS]] == [
        "SalesOrderHeader"
    ]
    on_some_topic = {cls for classes in TOPIC_MESSAGE_TYPES.values() for cls in classes}
    assert on_some_topic == set(MESSAGE_TYPES.values())


@pytest.mark.parametrize("message_type", sorted(SAMPLES))
@pytest.mark.parametrize("origin", ["portal", "scm"])
def test_every_message_type_round_trips(message_type: str, origin: Any) -> None:
    sent = envelope(SAMPLES[message_type], origin=origin, company="usmf")
    raw = to_json_bytes(sent)
    received = decode(raw)
    assert received == sent
    assert type(received.payload) is MESSAGE_TYPES[message_type]
    assert to_json_bytes(received) == raw  # and encodes to the same bytes again


def test_decode_accepts_text_as_well_as_bytes() -> None:
    sent = envelope(SAMPLES["OrderSubmitted"], origin="portal", company="usmf")
    assert decode(to_json_bytes(sent).decode("utf-8")) == sent


def test_unknown_type_raises_unknown_message_type_carrying_the_type() -> None:
    data = _wire()
    data["type"] = "CancelOrder"
    with pytest.raises(UnknownMessageType) as caught:
        decode(json.dumps(data))
    assert caught.value.message_type == "CancelOrder"
    assert isinstance(caught.value, ContractError)
    with pytest.raises(UnknownMessageType):
        message_class("CancelOrder")
    assert not is_supported("CancelOrder", 1)


@pytest.mark.parametrize("value", [None, 7, ["SubmitOrder"]])
def test_missing_or_non_string_type_is_an_invalid_message(value: object) -> None:
    data = _wire()
    if value is None:
        del data["type"]
    else:
        data["type"] = value
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data))
    assert [e.field for e in caught.value.errors] == ["type"]


def test_bad_field_names_the_dotted_path() -> None:
    data = _wire()
    data["payload"]["lines"].append({"product_number": "D0003", "quantity": "1", "unit": 5})
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data))
    assert [e.field for e in caught.value.errors] == ["payload.lines.2.unit"]
    assert "payload.lines.2.unit" in str(caught.value)


def test_every_field_at_fault_is_named() -> None:
    data = _wire()
    data["correlation_id"] = "nope"
    data["company"] = ""
    data["payload"]["delivery_address"].pop("city")
    data["payload"]["lines"][0]["quantity"] = "-2"
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data).encode())
    assert sorted(e.field for e in caught.value.errors) == [
        "company",
        "correlation_id",
        "payload.delivery_address.city",
        "payload.lines.0.quantity",
    ]


def test_nested_cds_fields_are_named_by_their_logical_names() -> None:
    data = _wire("OrderSubmitted")
    data["payload"]["order"]["lines"][0]["uomid.msdyn_symbol"] = ["box"]
    with pytest.raises(InvalidMessage) as caught:
        decode(json.dumps(data))
    assert [e.field for e in caught.value.errors] == ["payload.order.lines.0.uomid.msdyn_symbol"]


def test_unsupported_schema_version_is_refused_before_the_payload_is_read() -> None:
    data = _wire()
    data["schema_version"] = 2
    data["payload"] = {"shape": "of a future version"}
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        decode(json.dumps(data))
    assert isinstance(caught.value, InvalidMessage)
    assert [e.field for e in caught.value.errors] == ["schema_version"]
    assert not is_supported("SubmitOrder", 2)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[]", b"null", b'"SubmitOrder"', b"\xff\xfe{}", "{'type': 1}", b'{"type": NaN}'],
)
def test_what_is_not_a_json_object_is_an_invalid_message(raw: bytes | str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(raw)
    assert [e.field for e in caught.value.errors] == ["$"]


# --- properties -----------------------------------------------------------------------------

# What a message may carry: any text but control characters and lone surrogates (bounds.py).
_storable = st.characters(exclude_categories=("Cc", "Cs"))
_text = st.text(_storable, max_size=20)
_codes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_decimals = st.decimals(
    allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
)
_positive = st.decimals(min_value=Decimal("0.0001"), max_value=10**6, places=4)
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_aware = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=_offsets | st.just(UTC),
)


def _by_name(model: Callable[..., Any]) -> Callable[..., Any]:
    # Not the model itself: st.builds would also fill the required aliased key (salesorderid).
    return lambda **fields: model.model_validate(fields)  # type: ignore[attr-defined]


_submit_orders = st.builds(
    SubmitOrder,
    command_id=st.uuids(),
    issued_by=st.text(_storable, min_size=1, max_size=36),
    order_id=st.uuids(),
    contact_id=st.uuids(),
    requested_receipt_date=st.dates(),
    delivery_address=st.builds(DeliveryAddress, street=_text, city=_text, postal_code=_text),
    requisition_number=st.none() | _text,
    company=st.none() | _codes,
    customer_account=st.none() | _text,
    ship_to_country=st.none() | _text,
    lines=st.lists(
        st.builds(OrderLineRequest, product_number=_text, quantity=_positive, unit=_text),
        max_size=4,
    ),
)
_order_lines = st.builds(
    SalesOrderDetail,
    sequence_number=st.none() | st.integers(min_value=1, max_value=999),
    product_number=st.none() | _text,
    quantity=st.none() | _decimals,
    unit=st.none() | _text,
    price_per_unit=st.none() | _decimals,
    extended_amount=st.none() | _decimals,
    ship_to_country=st.none() | _text,
    delivery_address_description=st.none() | _text,
    requested_receipt_date=st.none() | st.dates(),
)
_orders_submitted = st.builds(
    OrderSubmitted,
    submitted_by=st.text(_storable, min_size=1, max_size=36),
    order=st.builds(
        _by_name(SalesOrder),
        sales_order_id=st.uuids(),
        sales_order_number=st.none() | _text,
        name=st.none() | _text,
        customer_account=st.none() | _text,
        currency=st.none() | _text,
        price_list=st.none() | _text,
        requested_receipt_date=st.none() | st.dates(),
        processing_status=st.none() | st.sampled_from(["pending", "synced", "sync_failed"]),
        total_amount=st.none() | _decimals,
        company=st.none() | _codes,
        lines=st.lists(_order_lines, max_size=4),
    ),
)
_status_changes = st.builds(
    OrderSyncStatusChanged,
    salesorderid=st.uuids(),
    status=st.sampled_from(
        ["pending", "synced", "confirmed", "shipped", "invoiced", "sync_failed", "canceled"]
    ),
    sales_order_number=st.none() | _text,
    reason=st.none() | _text,
)
_envelopes = st.builds(
    envelope,
    st.one_of(_submit_orders, _orders_submitted, _status_changes),
    origin=st.sampled_from(["portal", "scm"]),
    company=_codes,
    correlation_id=st.none() | st.uuids(),
    causation_id=st.none() | st.uuids(),
    message_id=st.none() | st.uuids(),
    occurred_at=st.none() | _aware,
)


@settings(max_examples=200, deadline=None)
@given(_envelopes)
def test_order_messages_round_trip_exactly(sent: Envelope[Message]) -> None:
    received = decode(to_json_bytes(sent))
    assert received == sent
    assert received.occurred_at.utcoffset() == sent.occurred_at.utcoffset()
    if isinstance(sent.payload, SubmitOrder):
        assert isinstance(received.payload, SubmitOrder)
        quantities = [str(line.quantity) for line in received.payload.lines]
        assert quantities == [str(line.quantity) for line in sent.payload.lines]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.sampled_from(["type", "schema_version", "occurred_at", "company", "payload", "origin"]),
    _json_values,
)
def test_decode_raises_only_contract_errors(message_type: str, key: str, value: object) -> None:
    data = _wire(message_type)
    data[key] = value
    with contextlib.suppress(ContractError):
        decode(json.dumps(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_garbage_raises_only_contract_errors(raw: bytes | str) -> None:
    with pytest.raises(ContractError):
        decode(raw)


def test_decode_result_payload_types_are_concrete() -> None:
    decoded = decode(
        to_json_bytes(envelope(SAMPLES["SubmitOrder"], origin="portal", company="usmf"))
    )
    assert isinstance(decoded.payload, SubmitOrder)
    assert decoded.payload.requested_receipt_date == date(2025, 3, 14)
