"""The envelope: generated metadata, validation of its fields, and the JSON codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from contracts.commands import SubmitOrder
from contracts.envelope import Envelope, envelope, from_json_bytes, to_json_bytes
from contracts.errors import InvalidMessage, UnsupportedSchemaVersion
from contracts.events import OrderSubmitted
from tests.contracts.samples import SUBMIT_ORDER


def _wire(**changes: object) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        to_json_bytes(envelope(SUBMIT_ORDER, origin="portal", company="usmf"))
    )
    data.update(changes)
    return data


def test_envelope_takes_type_and_version_from_the_payload_class() -> None:
    env = envelope(SUBMIT_ORDER, origin="portal", company="usmf")
    assert env.type == "SubmitOrder"
    assert env.schema_version == SubmitOrder.schema_version == 1
    assert env.payload is SUBMIT_ORDER


def test_envelope_generates_ids_and_an_aware_time() -> None:
    before = datetime.now(UTC)
    first = envelope(SUBMIT_ORDER, origin="portal", company="usmf")
    second = envelope(SUBMIT_ORDER, origin="portal", company="usmf")
    assert first.message_id != second.message_id
    assert first.correlation_id == first.message_id  # a new user action starts here
    assert first.causation_id is None
    assert first.occurred_at.tzinfo is not None
    assert before <= first.occurred_at <= datetime.now(UTC)


def test_envelope_keeps_the_ids_and_time_it_is_given() -> None:
    ids = [uuid4() for _ in range(3)]
    when = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    env = envelope(
        SUBMIT_ORDER,
        origin="scm",
        company="usmf",
        message_id=ids[0],
        correlation_id=ids[1],
        causation_id=ids[2],
        occurred_at=when,
    )
    assert (env.message_id, env.correlation_id, env.causation_id) == tuple(ids)
    assert env.occurred_at == when
    assert env.origin == "scm"


def test_naive_occurred_at_is_refused_when_building() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        envelope(SUBMIT_ORDER, origin="portal", company="usmf", occurred_at=datetime(2025, 1, 1))


def test_naive_occurred_at_is_refused_when_decoding() -> None:
    raw = json.dumps(_wire(occurred_at="2025-01-01T12:00:00"))
    with pytest.raises(InvalidMessage) as caught:
        from_json_bytes(raw, SubmitOrder)
    assert [e.field for e in caught.value.errors] == ["occurred_at"]


def test_company_is_lowercased_and_may_not_be_empty() -> None:
    assert envelope(SUBMIT_ORDER, origin="portal", company=" USMF ").company == "usmf"
    with pytest.raises(ValidationError, match="company"):
        envelope(SUBMIT_ORDER, origin="portal", company="  ")


def test_origin_is_portal_or_scm() -> None:
    with pytest.raises(ValidationError, match="origin"):
        envelope(SUBMIT_ORDER, origin="erp", company="usmf")  # type: ignore[arg-type]


def test_payload_must_be_of_the_type_the_envelope_names() -> None:
    with pytest.raises(ValidationError, match="payload is a SubmitOrder"):
        Envelope[SubmitOrder](
            message_id=uuid4(),
            type="OrderSubmitted",
            schema_version=1,
            occurred_at=datetime.now(UTC),
            origin="portal",
            company="usmf",
            correlation_id=uuid4(),
            payload=SUBMIT_ORDER,
        )


def test_envelope_is_frozen_and_closed() -> None:
    env = envelope(SUBMIT_ORDER, origin="portal", company="usmf")
    with pytest.raises(ValidationError):
        env.company = "other"  # type: ignore[misc]
    with pytest.raises(InvalidMessage) as caught:
        from_json_bytes(json.dumps(_wire(extra="x")), SubmitOrder)
    assert [e.field for e in caught.value.errors] == ["extra"]


def test_to_json_bytes_is_utf8_json_with_every_envelope_field() -> None:
    payload = SUBMIT_ORDER.model_copy(update={"requisition_number": "Bestellung Nr. 7 für Zoë"})
    raw = to_json_bytes(envelope(payload, origin="portal", company="usmf"))
    assert isinstance(raw, bytes)
    assert "für Zoë".encode() in raw  # UTF-8, not \u escapes
    data = json.loads(raw.decode("utf-8"))
    assert set(data) == {
        "message_id",
        "type",
        "schema_version",
        "occurred_at",
        "origin",
        "company",
        "correlation_id",
        "causation_id",
        "payload",
    }
    UUID(data["message_id"])
    assert data["type"] == "SubmitOrder"
    assert data["payload"]["lines"][1]["quantity"] == "0.5"


def test_from_json_bytes_round_trips() -> None:
    env = envelope(SUBMIT_ORDER, origin="portal", company="usmf", causation_id=uuid4())
    decoded = from_json_bytes(to_json_bytes(env), SubmitOrder)
    assert decoded == env
    assert decoded.payload.lines[1].quantity == SUBMIT_ORDER.lines[1].quantity


def test_from_json_bytes_refuses_another_type() -> None:
    raw = to_json_bytes(envelope(SUBMIT_ORDER, origin="portal", company="usmf"))
    with pytest.raises(InvalidMessage) as caught:
        from_json_bytes(raw, OrderSubmitted)
    assert [e.field for e in caught.value.errors] == ["type"]


def test_from_json_bytes_refuses_an_unsupported_schema_version() -> None:
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        from_json_bytes(json.dumps(_wire(schema_version=2)), SubmitOrder)
    assert (caught.value.message_type, caught.value.schema_version) == ("SubmitOrder", 2)
    assert [e.field for e in caught.value.errors] == ["schema_version"]
