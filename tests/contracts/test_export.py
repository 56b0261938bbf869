"""The exported JSON Schemas and AsyncAPI document: complete, faithful and reproducible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.export import export_contracts
from contracts.registry import MESSAGE_TYPES, SCM_RECORD_TYPES, TOPIC_MESSAGE_TYPES


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    directory = tmp_path_factory.mktemp("contracts")
    return directory, export_contracts(directory)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_export_writes_one_schema_per_message_type_the_scm_records_and_asyncapi(
    exported: tuple[Path, list[Path]],
) -> None:
    directory, written = exported
    expected = {f"schemas/{t}.v1.json" for t in MESSAGE_TYPES}
    expected |= {f"schemas/scm/{c.message_type}.v1.json" for c in SCM_RECORD_TYPES}
    expected.add("asyncapi.json")
    assert {p.relative_to(directory).as_posix() for p in written} == expected
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    assert on_disk == expected
    assert "schemas/OrderSubmitted.v1.json" in expected


def test_export_twice_gives_identical_bytes(
    exported: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    directory, first = exported
    second = export_contracts(tmp_path)
    assert [p.relative_to(tmp_path) for p in second] == [p.relative_to(directory) for p in first]
    for before, again in zip(first, second, strict=True):
        assert before.read_bytes() == again.read_bytes(), before.name


def test_export_overwrites_in_place_with_the_same_bytes(tmp_path: Path) -> None:
    first = {p: p.read_bytes() for p in export_contracts(tmp_path)}
    second = {p: p.read_bytes() for p in export_contracts(tmp_path)}
    assert first == second


def test_files_are_sorted_utf8_json(exported: tuple[Path, list[Path]]) -> None:
    _, written = exported
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n")
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


def test_message_schema_is_the_envelope_with_its_type_pinned(
    exported: tuple[Path, list[Path]],
) -> None:
    directory, _ = exported
    schema = _load(directory / "schemas" / "OrderSubmitted.v1.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "OrderSubmitted.v1.json"
    assert schema["properties"]["type"]["const"] == "OrderSubmitted"
    assert schema["properties"]["schema_version"]["const"] == 1
    assert set(schema["required"]) >= {
        "message_id",
        "type",
        "schema_version",
        "occurred_at",
        "origin",
        "company",
        "correlation_id",
        "payload",
    }
    assert schema["properties"]["occurred_at"]["format"] == "date-time"
    assert schema["additionalProperties"] is False
    # CDS records inside use the logical names
    order = schema["$defs"]["SalesOrder"]["properties"]
    assert "transactioncurrencyid.isocurrencycode" in order
    assert "msdyn_company" in order
    assert "currency" not in order
    line = schema["$defs"]["SalesOrderDetail"]["properties"]
    assert {"productid.msdyn_productnumber", "uomid.msdyn_symbol", "quantity"} <= set(line)


def test_scm_record_schema_uses_odata_names(exported: tuple[Path, list[Path]]) -> None:
    directory, _ = exported
    schema = _load(directory / "schemas" / "scm" / "SalesOrderHeader.v1.json")
    assert {"dataAreaId", "SalesOrderNumber", "CDSSalesOrderId", "lines"} <= set(
        schema["properties"]
    )
    assert "ShippingSiteId" in schema["$defs"]["SalesOrderLine"]["properties"]
    assert "type" not in schema["properties"]  # the bare record, without its envelope


def test_asyncapi_lists_all_seven_topics(exported: tuple[Path, list[Path]]) -> None:
    directory, _ = exported
    doc = _load(directory / "asyncapi.json")
    assert doc["asyncapi"].startswith("3.")
    assert doc["info"]["title"] == "dualsync"
    addresses = sorted(channel["address"] for channel in doc["channels"].values())
    assert addresses == sorted(topics.ALL_TOPICS)
    assert len(addresses) == 7


def _message_types_of(doc: dict[str, Any], topic: str) -> set[str]:
    schemas = doc["components"]["schemas"]
    channel = next(c for c in doc["channels"].values() if c["address"] == topic)
    types: set[str] = set()
    for ref in channel["messages"].values():
        message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
        payload = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
        for option in payload.get("oneOf", [payload]):
            if "$ref" in option:
                option = schemas[option["$ref"].rsplit("/", 1)[1]]
            types.add(option["properties"]["type"]["const"])
    return types


@pytest.mark.parametrize("topic", topics.ALL_TOPICS)
def test_asyncapi_names_the_message_types_of_each_topic(
    exported: tuple[Path, list[Path]], topic: str
) -> None:
    doc = _load(exported[0] / "asyncapi.json")
    expected = {cls.message_type for cls in TOPIC_MESSAGE_TYPES[topic]}
    assert _message_types_of(doc, topic) == expected


def test_asyncapi_says_who_sends_and_receives(exported: tuple[Path, list[Path]]) -> None:
    doc = _load(exported[0] / "asyncapi.json")
    actions = {
        doc["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]: op["action"]
        for op in doc["operations"].values()
    }
    assert actions[topics.SCM_INBOUND] == "receive"
    assert {t for t, action in actions.items() if action == "send"} == set(topics.ALL_TOPICS) - {
        topics.SCM_INBOUND
    }
    channel = next(c for c in doc["channels"].values() if c["address"] == topics.SCM_SALESORDERS)
    assert "dataAreaId/CDSSalesOrderId" in channel["description"]


def test_asyncapi_says_clients_authenticate_with_scram_and_holds_no_password(
    exported: tuple[Path, list[Path]],
) -> None:
    directory, _ = exported
    text = (directory / "asyncapi.json").read_text()
    doc = json.loads(text)
    (server,) = doc["servers"].values()
    (requirement,) = server["security"]
    scheme = requirement["$ref"].rsplit("/", 1)[1]
    assert doc["components"]["securitySchemes"][scheme] == {"type": "scramSha512"}
    assert "<its password>" not in text
