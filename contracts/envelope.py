"""The envelope every message travels in, and its JSON encoding and decoding."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from contracts.bounds import CODE_MAX, MAX_JSON_DEPTH, SINGLE_LINE_PATTERN, Timestamp
from contracts.errors import (
    ROOT_FIELD,
    FieldError,
    InvalidMessage,
    UnsupportedSchemaVersion,
    field_errors,
)
from contracts.values import CompanyCode, Origin

__all__ = [
    "Envelope",
    "Message",
    "Record",
    "envelope",
    "from_json_bytes",
    "load_json_object",
    "to_json_bytes",
    "validate_envelope",
]


class Record(BaseModel):
    """A frozen, closed part of a message; JSON keys are the field aliases (wire names)."""

    # validate_by_name: Python code may use the readable names; the wire always uses aliases.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


class Message(Record):
    """Base of every payload type; subclasses name their wire `message_type` and version."""

    message_type: ClassVar[str]
    schema_version: ClassVar[int]

    @classmethod
    def supports_version(cls, schema_version: int) -> bool:
        """Whether a message of this type in `schema_version` can be decoded into this class."""
        return schema_version == cls.schema_version


# Covariant so that an Envelope[SubmitOrder] is an Envelope[Message]; functions use MessageT.
PayloadT = TypeVar("PayloadT", bound=Message, covariant=True)
MessageT = TypeVar("MessageT", bound=Message)


class Envelope(BaseModel, Generic[PayloadT]):
    """Metadata that every message carries around its payload (SPEC §4)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    message_id: UUID
    """Unique per message: consumers use it to ignore a redelivery."""
    type: Annotated[
        str, StringConstraints(min_length=1, max_length=CODE_MAX, pattern=SINGLE_LINE_PATTERN)
    ]
    """The payload's message type, e.g. `SubmitOrder`."""
    schema_version: Annotated[int, Field(ge=1)]
    """The payload's schema version."""
    occurred_at: Timestamp
    """When it happened, with its UTC offset."""
    origin: Origin
    """The side the change came from; a change is never sent back to its origin."""
    company: CompanyCode
    """The legal entity (`msdyn_company` / `dataAreaId`), lower case, e.g. `usmf`."""
    correlation_id: UUID
    """Follows one user action end to end."""
    causation_id: UUID | None = None
    """The message that caused this one, if any."""
    payload: PayloadT

    @field_validator("payload")
    @classmethod
    def _payload_matches_type(cls, payload: Message, info: ValidationInfo) -> Message:
        expected = info.data.get("type")
        if expected is not None and type(payload).message_type != expected:
            msg = f"payload is a {type(payload).message_type}, but type says {expected}"
            raise ValueError(msg)
        return payload


def envelope(
    payload: MessageT,
    *,
    origin: Origin,
    company: str,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
    message_id: UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[MessageT]:
    """Wrap `payload`; type and version come from its class, ids and time are generated."""
    message_id = message_id or uuid4()
    model: type[Envelope[MessageT]] = _envelope_model(type(payload))
    return model(
        message_id=message_id,
        type=payload.message_type,
        schema_version=payload.schema_version,
        occurred_at=occurred_at or datetime.now(UTC),
        origin=origin,
        company=company,
        # A message without a correlation id starts a new user action.
        correlation_id=correlation_id or message_id,
        causation_id=causation_id,
        payload=payload,
    )


def to_json_bytes(env: Envelope[Message]) -> bytes:
    """Encode as UTF-8 JSON with wire names; Decimals become JSON strings."""
    return env.model_dump_json(by_alias=True).encode("utf-8")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep() -> InvalidMessage:
    message = f"JSON nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays"
    return InvalidMessage([FieldError(field=ROOT_FIELD, message=message)])


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in parsed JSON (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest if isinstance(value, dict | list) else 0


def load_json_object(raw: bytes | str) -> dict[str, Any]:
    """Parse UTF-8 JSON into a dict; JSON numbers with a fraction become exact Decimals.

    Refuses JSON nested deeper than MAX_JSON_DEPTH with InvalidMessage, as it refuses bad JSON.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        # parse_float=Decimal: a number sent by the ERP as 1.10 must not pass through a float.
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidMessage([FieldError(field=ROOT_FIELD, message=str(exc))]) from None
    except RecursionError:  # nested past the interpreter's own limit, long before ours
        raise _too_deep() from None
    # The brackets in the text bound the depth from above: most messages skip the walk.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise _too_deep()
    if not isinstance(value, dict):
        message = f"expected a JSON object, got {type(value).__name__}"
        raise InvalidMessage([FieldError(field=ROOT_FIELD, message=message)])
    return value


def validate_envelope(data: Mapping[str, Any], payload_type: type[MessageT]) -> Envelope[MessageT]:
    """Validate parsed JSON as an envelope of `payload_type`; raise InvalidMessage if it is not."""
    if data.get("type") != payload_type.message_type:
        message = f"expected {payload_type.message_type!r}, got {data.get('type')!r}"
        raise InvalidMessage([FieldError(field="type", message=message)])
    version = data.get("schema_version")
    if isinstance(version, int) and not payload_type.supports_version(version):
        raise UnsupportedSchemaVersion(payload_type.message_type, version)
    try:
        return _envelope_model(payload_type).model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(field_errors(exc)) from None


def from_json_bytes(raw: bytes | str, payload_type: type[MessageT]) -> Envelope[MessageT]:
    """Decode a message whose payload type is known in advance (see `registry.decode`)."""
    return validate_envelope(load_json_object(raw), payload_type)


@functools.cache
def _envelope_model(payload_type: type[MessageT]) -> type[Envelope[MessageT]]:
    # Pydantic caches parametrisations too, but finding one in its cache maps the type
    # parameters again on every call: a cost paid per message. Here it is one dict lookup.
    model: type[Envelope[MessageT]] = Envelope[payload_type]  # type: ignore[valid-type]
    return model
