"""Property: any hostile text in any text field of any SCM record settles, nothing stalls.

Each example fills every text field of every record type the ERP sends on scm.inbound.v1 with
a hostile string (one record per field, each under a key of its own), all on one partition,
each followed there by a valid ERP order under another key. Once the inbound worker's committed
offsets reach the end, every hostile record was applied or dead-lettered (never dropped, never
retried for ever), and every order behind one was applied.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import Message, envelope, to_json_bytes
from contracts.topics import SCM_INBOUND
from sync_service.db.schema import processed_messages
from sync_service.mappings.inbound import INBOUND_GROUP, InboundWorker
from sync_service.mappings.tables import dead_letters
from sync_service.settings import Settings
from tests.contracts.samples import SAMPLES
from tests.hostile import HOSTILE_TEXT, Path, hostile_json, text_paths
from tests.kafka_offsets import until_consumed
from tests.kafka_roles import as_role
from tests.sync_service.mappings.test_inbound import erp_header

pytestmark = pytest.mark.integration

PARTITION = 0


def _erp_created() -> Message:
    number = f"usmf-{uuid.uuid4().hex[:8]}"
    header = erp_header(SalesOrderNumber=number)
    lines = [line.model_copy(update={"SalesOrderNumber": number}) for line in header.lines]
    return header.model_copy(update={"lines": lines})


RECORDS: dict[str, Callable[[], Message]] = {
    "CustomerV3": lambda: SAMPLES["CustomerV3"],
    "ContactPersonV2": lambda: SAMPLES["ContactPersonV2"],
    "SalesOrderHeader": _erp_created,  # a new order: the map and the store see every field
    "ReleasedProduct": lambda: SAMPLES["ReleasedProduct"],
    "SalesPriceAgreement": lambda: SAMPLES["SalesPriceAgreement"],
}
FIELDS: list[tuple[str, Path]] = [
    (name, path)
    for name, make in RECORDS.items()
    for path in text_paths(type(make()), make().model_dump(mode="json", by_alias=True))
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Dead letters pile up here on purpose: no automatic pause of their maps.
    return settings.model_copy(update={"poison_attempts": 2, "alert_deadletters": 0})


def test_every_text_field_of_every_inbound_record_is_tried() -> None:
    tried = {(name, ".".join(map(str, path))) for name, path in FIELDS}
    assert {("SalesOrderHeader", "SalesOrderName"), ("SalesOrderHeader", "lines.0.ProductNumber"),
            ("CustomerV3", "OrganizationName"), ("ContactPersonV2", "FirstName"),
            ("ReleasedProduct", "ProductName"), ("SalesPriceAgreement", "PriceCurrencyCode"),
            } <= tried  # fmt: skip
    assert len(FIELDS) >= 50


@hypothesis_settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # an example costs seconds: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(values=st.lists(HOSTILE_TEXT, min_size=len(FIELDS), max_size=len(FIELDS)))
async def test_hostile_text_in_any_scm_field_settles_and_the_next_record_is_applied(
    settings: Settings, engine: AsyncEngine, inbound: InboundWorker, values: list[str]
) -> None:
    hostile: dict[int, tuple[str, str]] = {}  # offset -> (message id, field)
    behind: list[str] = []
    topic = settings.topic(SCM_INBOUND)
    producer = AIOKafkaProducer(**as_role(settings, "erp"), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for (name, path), value in zip(FIELDS, values, strict=True):
            env = envelope(RECORDS[name](), origin="scm", company="usmf")
            raw = hostile_json(json.loads(to_json_bytes(env)), path, value)
            sent = await producer.send_and_wait(
                topic, raw, key=f"hostile/{uuid.uuid4()}".encode(), partition=PARTITION
            )
            hostile[sent.offset] = (str(env.message_id), f"{name}.{'.'.join(map(str, path))}")
            after = envelope(_erp_created(), origin="scm", company="usmf")
            await producer.send(
                topic, to_json_bytes(after), key=f"valid/{uuid.uuid4()}".encode(),
                partition=PARTITION,
            )  # fmt: skip
            behind.append(str(after.message_id))
        await producer.flush()
    finally:
        await producer.stop()
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP, timeout_s=180)

    processed = await _processed(engine, [*(m for m, _ in hostile.values()), *behind])
    lettered = await _lettered(engine, topic)
    unsettled = [
        field
        for offset, (message_id, field) in hostile.items()
        if message_id not in processed and offset not in lettered
    ]
    assert unsettled == []
    assert [message_id for message_id in behind if message_id not in processed] == []


async def _processed(engine: AsyncEngine, message_ids: list[str]) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(processed_messages.c.message_id).where(
                processed_messages.c.consumer == INBOUND_GROUP,
                processed_messages.c.message_id.in_(message_ids),
            )
        )
        return set(rows.scalars())


async def _lettered(engine: AsyncEngine, topic: str) -> set[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(dead_letters.c.offset).where(
                dead_letters.c.consumer == INBOUND_GROUP,
                dead_letters.c.source_topic == topic,
                dead_letters.c.partition == PARTITION,
            )
        )
        return set(rows.scalars())
