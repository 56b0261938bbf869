"""What Kafka knows about lag: partitions, committed and end offsets, and the records waiting.

One admin client and one group-less consumer, started on first use and kept: the API samples
every few seconds, and a new connection per sample would cost more than the sample itself.
The consumer never joins a group and never commits, so reading waiting records changes nothing
for the workers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["KafkaOffsets", "Waiting", "WaitingRead"]

_READ_TIMEOUT_S: Final = 5.0
"""How long one partition's read of waiting records may take before it is cut short."""
_NO_OFFSET: Final = -1
_RELIST_S: Final = 5.0
"""How often topics are listed again while some watched topic has not been seen yet."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """One record not yet consumed: its message type (None if unreadable) and timestamp (ms)."""

    type: str | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class WaitingRead:
    """The records read from a committed offset onwards, and whether more were left unread."""

    records: list[Waiting]
    capped: bool


class KafkaOffsets:
    """Reads offsets and waiting records of the cluster at `bootstrap`."""

    def __init__(
        self,
        bootstrap: str,
        *,
        security: Mapping[str, Any] | None = None,
        request_timeout_ms: int = 10_000,
    ) -> None:
        self._bootstrap = bootstrap
        self._security = dict(security or {})  # kafka_access.client_options of "ops"
        self._timeout_ms = request_timeout_ms
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._existing: frozenset[str] = frozenset()
        self._listed_at = float("-inf")

    async def start(self) -> None:
        """Connect both clients (again, if an earlier sample failed and closed them)."""
        if self._admin is not None and self._consumer is not None:
            return
        await self.close()
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap,
            request_timeout_ms=self._timeout_ms,
            **self._security,
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=self._timeout_ms,
            client_id="dualsync-lag",
            **self._security,
        )
        try:
            await admin.start()
            await consumer.start()
        except BaseException:
            await admin.close()
            await consumer.stop()
            raise
        self._admin, self._consumer = admin, consumer

    async def close(self) -> None:
        """Disconnect; a later `start` connects afresh."""
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()

    async def partitions(self, topics: list[str]) -> dict[str, list[int]]:
        """The partitions of each topic of `topics` that exists (missing topics are left out)."""
        admin = self._started_admin()
        # Only existing topics are described: the broker may auto-create a topic it is asked for.
        # Listing every topic of a shared cluster is costly (thousands of names), and topics are
        # not deleted under a running dualsync, so list again only while some are not seen yet,
        # at most every _RELIST_S.
        missing = [topic for topic in topics if topic not in self._existing]
        if missing and time.monotonic() - self._listed_at >= _RELIST_S:
            self._existing = frozenset(await admin.list_topics())
            self._listed_at = time.monotonic()
        wanted = [topic for topic in topics if topic in self._existing]
        if not wanted:
            return {}
        found: dict[str, list[int]] = {}
        for described in await admin.describe_topics(wanted):
            if described["error_code"] == 0:
                found[described["topic"]] = sorted(p["partition"] for p in described["partitions"])
        return found

    async def committed(self, group: str, partitions: list[TopicPartition]) -> dict[int, int]:
        """Partition -> offset `group` committed on it; partitions without a commit are left out.

        All of `partitions` belong to one topic.
        """
        offsets = await self._started_admin().list_consumer_group_offsets(
            group, partitions=partitions
        )
        return {
            tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset > _NO_OFFSET
        }

    async def bounds(
        self, partitions: list[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        """The first available offset and the end offset (next to be written) of each partition."""
        consumer = self._started_consumer()
        beginning = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        return dict(beginning), dict(end)

    async def waiting(self, tp: TopicPartition, start: int, end: int, cap: int) -> WaitingRead:
        """The records of `tp` from `start` up to `end` (exclusive), at most `cap` of them."""
        stop = min(end, start + cap)
        if stop <= start:
            return WaitingRead([], capped=end > start)
        consumer = self._started_consumer()
        consumer.assign([tp])
        consumer.seek(tp, start)
        records: list[Waiting] = []
        finished = True
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                while await consumer.position(tp) < stop:
                    batch = await consumer.getmany(
                        tp, timeout_ms=200, max_records=min(500, stop - start)
                    )
                    for record in batch.get(tp, []):
                        if record.offset < stop:
                            records.append(Waiting(_message_type(record), record.timestamp))
        except TimeoutError:
            finished = False  # counts as cut short: fewer were read than wait
        finally:
            consumer.assign([])
        return WaitingRead(records, capped=not finished or stop < end)

    def _started_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            raise RuntimeError("KafkaOffsets.start() first")
        return self._admin

    def _started_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("KafkaOffsets.start() first")
        return self._consumer


def _message_type(record: object) -> str | None:
    """The message type: the `type` header when the producer set one, else the JSON's `type`.

    The relay sets the header to the envelope's type, so a long backlog is classified without
    parsing every value; records from other producers (the ERP) are parsed.
    """
    for name, value in getattr(record, "headers", None) or ():
        if name == "type" and value:
            return bytes(value).decode("utf-8", "replace")
    try:
        found = json.loads(getattr(record, "value", b"") or b"").get("type")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None
