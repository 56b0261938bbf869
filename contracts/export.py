"""Writes the contracts as JSON Schema files and an AsyncAPI document."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from faststream.kafka import KafkaBroker
from faststream.security import SASLScram512
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model

from contracts import topics
from contracts.envelope import Envelope, Message
from contracts.registry import MESSAGE_TYPES, SCM_RECORD_TYPES, TOPIC_MESSAGE_TYPES

__all__ = ["export_contracts"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# SPEC §4: key, writer and reader of each topic.
_TOPIC_DESCRIPTIONS = {
    topics.PORTAL_COMMANDS: "Portal commands. Key: aggregate id. Written by portal_api, "
    "read by the command processor.",
    topics.CDS_EVENTS: "Domain events from the event store. Key: aggregate id. Written by the "
    "outbox relay, read by the outbound mapping and the projections.",
    topics.SCM_SALESORDERS: "Sales orders for the ERP, header with all lines. Key: "
    "dataAreaId/CDSSalesOrderId. Written by the outbound mapping, read by ERP consumers.",
    topics.SCM_CONTACTS: "Contact persons for the ERP. Key: SCM integration key. Written by "
    "the outbound mapping, read by ERP consumers.",
    topics.SCM_CUSTOMERS: "Customers for the ERP. Key: SCM integration key. Written by the "
    "outbound mapping, read by ERP consumers.",
    topics.SCM_INBOUND: "Changes from the ERP side. Key: SCM integration key. Written by the "
    "ERP side, read by the inbound mapping.",
    topics.DEADLETTER: "Records that could not be handled. Key: the failed record's key. "
    "Written by any worker, read by ops (list, redrive).",
}
# dualsync receives this topic from the ERP; it writes every other one.
_RECEIVED_TOPICS = frozenset({topics.SCM_INBOUND})


def export_contracts(directory: Path) -> list[Path]:
    """Write schemas/<Type>.v<N>.json, schemas/scm/<Record>.v<N>.json and asyncapi.json."""
    written: list[Path] = []
    for cls in MESSAGE_TYPES.values():
        schema = _typed_envelope(cls).model_json_schema()
        name = f"{cls.message_type}.v{cls.schema_version}.json"
        written.append(_write_json(directory / "schemas" / name, _with_id(schema, name)))
    for cls in SCM_RECORD_TYPES:
        name = f"{cls.message_type}.v{cls.schema_version}.json"
        schema = _with_id(cls.model_json_schema(), f"scm/{name}")
        written.append(_write_json(directory / "schemas" / "scm" / name, schema))
    written.append(_write_json(directory / "asyncapi.json", asyncapi_document()))
    return written


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic and its message types, built by FastStream."""
    # Never connected: the broker only carries the declarations FastStream renders.
    # Clients authenticate with SCRAM-SHA-512 (docs/kafka-security.md): the document names the
    # scheme; the placeholder credentials are not rendered.
    broker = KafkaBroker(
        "localhost:9092",
        description="Kafka (DUALSYNC_KAFKA_BOOTSTRAP); SASL/SCRAM-SHA-512, one principal per role, "
        "topic ACLs (docs/kafka-security.md)",
        security=SASLScram512("dualsync-<role>", "<its password>"),
    )
    for topic in topics.ALL_TOPICS:
        payload = _topic_payload(TOPIC_MESSAGE_TYPES[topic])
        description = _TOPIC_DESCRIPTIONS[topic]
        if topic in _RECEIVED_TOPICS:
            broker.subscriber(topic, title=topic, description=description)(_handler(payload))
        else:
            broker.publisher(topic, title=topic, description=description, schema=payload)
    spec = AsyncAPI(
        broker,
        title="dualsync",
        version="1.0.0",
        description="Dual-write sync between the customer portal (CDS) and the ERP (SCM).",
        schema_version="3.0.0",
    ).to_specification()
    return cast("dict[str, Any]", json.loads(spec.to_json()))


def _typed_envelope(cls: type[Message]) -> type[BaseModel]:
    # The envelope with `type` and `schema_version` pinned, so that schemas name their type.
    literal = cast("Any", Literal)
    model: type[BaseModel] = create_model(
        f"{cls.message_type}Envelope",
        __base__=Envelope[cls],  # type: ignore[valid-type]
        __doc__=f"{cls.message_type} v{cls.schema_version} in its envelope. {cls.__doc__}",
        type=(literal[cls.message_type], ...),
        schema_version=(literal[cls.schema_version], ...),
    )
    return model


def _topic_payload(classes: Sequence[type[Message]]) -> Any:
    models = [_typed_envelope(cls) for cls in classes]
    if len(models) == 1:
        return models[0]
    union = functools.reduce(operator.or_, cast("list[Any]", models))
    return Annotated[union, Field(discriminator="type")]


def _handler(payload: Any) -> Any:
    async def handle(message: Any) -> None:
        """Declared for the specification only; the inbound mapping consumes this topic."""

    # FastStream reads the message schema from the handler's annotations.
    handle.__annotations__ = {"message": payload, "return": None}
    return handle


def _with_id(schema: dict[str, Any], schema_id: str) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id, **schema}


def _write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path
