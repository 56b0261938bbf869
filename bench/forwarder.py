"""The baseline's forwarder, a process of its own as a dualsync worker is: topic A -> topic B.

`python -m bench.forwarder BOOTSTRAP SOURCE TARGET GROUP` reads SOURCE as a member of GROUP in
batches, produces each record to TARGET, awaits the batch's acknowledgements, then commits. It
prints `ready` once it has its partitions, and runs until it is terminated. It imports nothing
but aiokafka, so that it starts quickly; it authenticates as the admin principal (its topics
and group are scratch ones no role has), with the credentials of its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import sys
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

__all__ = ["PRODUCER", "forward"]

PRODUCER: Final[dict[str, Any]] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "max_batch_size": 256 * 1024,
}
"""What dualsync's producers use (acks=all, idempotent), plus a linger so that records batch."""


def _admin_credentials() -> dict[str, Any]:
    """kafka_access.client_options(settings, "admin"), read from the environment directly."""
    protocol = os.environ.get("DUALSYNC_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": os.environ.get("DUALSYNC_KAFKA_USERNAMES__ADMIN", "dualsync-admin"),
        "sasl_plain_password": os.environ["DUALSYNC_KAFKA_PASSWORDS__ADMIN"],
    }
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context(
            cafile=os.environ.get("DUALSYNC_KAFKA_SSL_CAFILE")
        )
    return options


async def forward(bootstrap: str, source: str, target: str, group: str) -> None:
    """Forward every record of `source` to `target` until cancelled."""
    credentials = _admin_credentials()
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        **credentials,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER, **credentials)
    await producer.start()
    await consumer.start()
    announced = False
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            if not announced and consumer.assignment():
                print("ready", flush=True)
                announced = True
            sent = [
                await producer.send(target, record.value, key=record.key)
                for records in batches.values()
                for record in records
            ]
            if sent:
                await asyncio.gather(*sent)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forward(*sys.argv[1:5]))
