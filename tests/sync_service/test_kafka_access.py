"""Kafka's own checks hold each principal to its role (SASL/SCRAM-SHA-512, ACLs per prefix).

Against the real broker: what a role may not do fails with Kafka's authorization error, what it
may do works, and a client without valid credentials does not get in at all.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from typing import get_args

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from contracts.topics import (
    ALL_TOPICS,
    CDS_EVENTS,
    DEADLETTER,
    PORTAL_COMMANDS,
    SCM_CONTACTS,
    SCM_CUSTOMERS,
    SCM_INBOUND,
    SCM_SALESORDERS,
)
from sync_service import kafka_access
from sync_service.command_processor import CONSUMER_GROUP as COMMAND_GROUP
from sync_service.erp_sim.simulator import CONSUMER_GROUP as ERP_SIM_GROUP
from sync_service.kafka_access import (
    ROLES,
    KafkaCredentialsMissing,
    Role,
    bindings,
    client_options,
    environment,
)
from sync_service.kafka_acls import describe_acls
from sync_service.mappings.inbound import INBOUND_GROUP
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.ops.deadletter_index import INDEX_GROUP
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from sync_service.settings import Settings
from tests.kafka_roles import as_role, writer_of
from tests.stack import ROOT, STACK_SCRIPT

pytestmark = pytest.mark.integration

_SCM_OUTBOUND = (SCM_SALESORDERS, SCM_CONTACTS, SCM_CUSTOMERS)


async def _write(settings: Settings, role: Role, topic: str) -> None:
    producer = AIOKafkaProducer(**as_role(settings, role), request_timeout_ms=5000)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(topic), b"{}", key=b"probe")
    finally:
        await producer.stop()


async def _read_one(settings: Settings, role: Role, topic: str, group: str) -> bytes:
    """The first record of `topic`, read as `role` in consumer group `group` (logical)."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        **as_role(settings, role),
        group_id=settings.group(group),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=5000,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            record = await consumer.getone()
        return bytes(record.value or b"")
    finally:
        await consumer.stop()


async def _read_without_group(settings: Settings, role: Role, topic: str) -> int:
    """How many records `role` reads from `topic`'s partitions without a group (kcat-style)."""
    consumer = AIOKafkaConsumer(
        **as_role(settings, role), enable_auto_commit=False, request_timeout_ms=5000
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic(topic), p) for p in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async with asyncio.timeout(20):
            found = 0
            while found == 0:
                batches = await consumer.getmany(timeout_ms=500)
                found += sum(len(records) for records in batches.values())
        return found
    finally:
        await consumer.stop()


async def test_the_erp_may_not_write_commands_nor_dead_letters(settings: Settings) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(settings, "erp", PORTAL_COMMANDS)
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(settings, "erp", DEADLETTER)
    await _write(settings, "erp", SCM_INBOUND)  # its own topic: allowed


async def test_the_erp_reads_what_dualsync_sends_it_but_not_the_commands(
    settings: Settings,
) -> None:
    await _write(settings, "api", PORTAL_COMMANDS)
    await _write(settings, "outbound", SCM_SALESORDERS)

    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(settings, "erp", PORTAL_COMMANDS, ERP_SIM_GROUP)
    assert await _read_one(settings, "erp", SCM_SALESORDERS, ERP_SIM_GROUP) == b"{}"


async def test_the_api_writes_commands_only_and_reads_nothing(settings: Settings) -> None:
    await _write(settings, "relay", CDS_EVENTS)
    await _write(settings, "api", PORTAL_COMMANDS)

    for topic in (*_SCM_OUTBOUND, SCM_INBOUND, CDS_EVENTS, DEADLETTER):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(settings, "api", topic)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(settings, "api", CDS_EVENTS, PROJECTIONS_GROUP)


async def test_only_dualsyncs_workers_write_dead_letters(settings: Settings) -> None:
    for role in ("api", "erp", "operator", "relay", "projections", "command-processor"):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(settings, role, DEADLETTER)
    for role in ("outbound", "inbound", "ops"):
        await _write(settings, role, DEADLETTER)


async def test_the_operator_reads_every_topic_and_writes_none(settings: Settings) -> None:
    for topic in ALL_TOPICS:
        await _write(settings, writer_of(topic), topic)
    for topic in ALL_TOPICS:
        assert await _read_without_group(settings, "operator", topic) >= 1, topic
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(settings, "operator", topic)


async def test_no_credentials_or_a_wrong_password_do_not_get_in(settings: Settings) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()

    wrong = {**as_role(settings, "api"), "sasl_plain_password": "not-the-password"}
    impostor = AIOKafkaProducer(**wrong)
    with pytest.raises(KafkaConnectionError):
        await impostor.start()
    await impostor.stop()


async def test_kafka_access_apply_twice_leaves_the_same_acls(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    env = {
        **os.environ,
        **environment(settings),
        "DUALSYNC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "DUALSYNC_TOPIC_PREFIX": topic_prefix,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "sync_service.cli", "kafka-access", "apply"]

    def apply() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    first = await asyncio.to_thread(apply)
    after_first = await describe_acls(settings)
    second = await asyncio.to_thread(apply)
    after_second = await describe_acls(settings)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert after_first == after_second == set(bindings(settings))
    assert f"{len(after_first)} in place for prefix {topic_prefix!r}" in second.stdout


def test_a_missing_password_names_its_variable() -> None:
    # Not Settings(kafka_passwords={}): the environment's passwords would be merged in.
    settings = Settings().model_copy(update={"kafka_passwords": {}})
    with pytest.raises(KafkaCredentialsMissing, match="DUALSYNC_KAFKA_PASSWORDS__COMMAND_PROC"):
        client_options(settings, "command-processor")
    assert client_options(Settings(kafka_security_protocol="PLAINTEXT"), "api") == {
        "security_protocol": "PLAINTEXT"
    }


def test_the_stack_script_makes_a_user_for_every_role() -> None:
    script = STACK_SCRIPT.read_text()
    [roles] = re.findall(r'^KAFKA_ROLES="([^"]+)"', script, flags=re.MULTILINE)
    assert roles.split() == list(ROLES) == list(get_args(Role))


def test_the_roles_name_the_groups_the_workers_join() -> None:
    assert kafka_access.COMMAND_GROUP == COMMAND_GROUP
    assert kafka_access.PROJECTIONS_GROUP == PROJECTIONS_GROUP
    assert kafka_access.OUTBOUND_GROUP == OUTBOUND_GROUP
    assert kafka_access.INBOUND_GROUP == INBOUND_GROUP
    assert kafka_access.DEADLETTER_INDEX_GROUP == INDEX_GROUP
    assert kafka_access.ERP_SIM_GROUP == ERP_SIM_GROUP
