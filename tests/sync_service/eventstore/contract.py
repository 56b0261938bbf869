"""Behaviour every EventStore and CheckpointStore adapter must show.

Abstract: pytest collects only the subclasses in test_memory.py and test_postgres.py, which
provide the `store` and `checkpoints` fixtures.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sync_service.eventstore import (
    AlreadyProcessed,
    CheckpointStore,
    ConcurrencyConflict,
    EventStore,
    InvalidEvent,
    NewEvent,
    ProcessedMessage,
    StoredEvent,
)

OCCURRED = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def new_event(event_type: str = "OrderSubmitted", **changes: Any) -> NewEvent:
    """A valid event; keyword arguments replace its fields."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": OCCURRED,
        "origin": "portal",
        "company": "usmf",
        "correlation_id": uuid.uuid4(),
        "causation_id": None,
        "payload": {"n": 1},
    }
    fields.update(changes)
    return NewEvent(**fields)


def numbered(count: int, start: int = 1) -> list[NewEvent]:
    """`count` events whose payloads say which one they are."""
    return [new_event(payload={"n": n}) for n in range(start, start + count)]


def as_new(event: StoredEvent) -> NewEvent:
    """The NewEvent fields of a stored event, to compare with what was appended."""
    stored = asdict(event)
    return NewEvent(**{name: stored[name] for name in NewEvent.__dataclass_fields__})


class EventStoreContract:
    """Appending, reading, optimistic concurrency and processed-message bookkeeping."""

    async def test_appended_events_read_back_in_order_with_every_field(
        self, store: EventStore
    ) -> None:
        cause = uuid.uuid4()
        appended = [
            new_event("ContactInvited", origin="scm", company="usmf", causation_id=cause),
            new_event("InvitationRedeemed", payload={"code_hash": "ab", "uses": [1, 2]}),
        ]
        stored = await store.append("contact-1", "contact", 0, appended)

        read = await store.read_stream("contact-1")
        assert read == stored
        assert [as_new(event) for event in read] == appended
        assert {event.stream_id for event in read} == {"contact-1"}
        assert {event.stream_type for event in read} == {"contact"}
        assert read[0].causation_id == cause
        assert read[0].recorded_at.utcoffset() is not None
        assert abs(read[0].recorded_at - datetime.now(UTC)) < timedelta(minutes=1)

    async def test_versions_count_from_one_in_each_stream(self, store: EventStore) -> None:
        await store.append("order-a", "order", 0, numbered(3))
        await store.append("order-b", "order", 0, numbered(2))
        await store.append("order-a", "order", 3, numbered(2, start=4))

        stream_a = await store.read_stream("order-a")
        assert [event.version for event in stream_a] == [1, 2, 3, 4, 5]
        assert [event.payload["n"] for event in stream_a] == [1, 2, 3, 4, 5]
        assert [event.version for event in await store.read_stream("order-b")] == [1, 2]
        assert await store.stream_version("order-a") == 5
        assert await store.stream_version("order-b") == 2
        assert await store.stream_version("order-unknown") == 0

    async def test_read_stream_after_a_version(self, store: EventStore) -> None:
        await store.append("order-a", "order", 0, numbered(4))

        assert [e.version for e in await store.read_stream("order-a", after_version=2)] == [3, 4]
        assert await store.read_stream("order-a", after_version=4) == []
        assert await store.read_stream("order-unknown") == []

    @pytest.mark.parametrize("expected_version", [0, 1, 3])
    async def test_append_at_a_stale_or_future_version_is_rejected_and_writes_nothing(
        self, store: EventStore, expected_version: int
    ) -> None:
        before = await store.append("order-a", "order", 0, numbered(2))

        with pytest.raises(ConcurrencyConflict) as caught:
            await store.append("order-a", "order", expected_version, numbered(1))

        conflict = caught.value
        assert (conflict.stream_id, conflict.expected_version, conflict.actual_version) == (
            "order-a",
            expected_version,
            2,
        )
        assert "'order-a'" in str(conflict)
        assert f"expected version {expected_version}" in str(conflict)
        assert "at version 2" in str(conflict)
        assert await store.read_stream("order-a") == before
        assert await store.head_position() == 2

    async def test_concurrent_appends_at_one_version_exactly_one_wins(
        self, store: EventStore
    ) -> None:
        await store.append("order-a", "order", 0, numbered(1))
        contenders = [numbered(2, start=10 * k) for k in range(1, 6)]

        outcomes = await asyncio.gather(
            *(store.append("order-a", "order", 1, batch) for batch in contenders),
            return_exceptions=True,
        )

        winners = [outcome for outcome in outcomes if isinstance(outcome, list)]
        losers = [outcome for outcome in outcomes if isinstance(outcome, ConcurrencyConflict)]
        assert len(winners) == 1
        assert len(losers) == len(contenders) - 1
        assert {(loser.expected_version, loser.actual_version) for loser in losers} == {(1, 3)}
        stream = await store.read_stream("order-a")
        assert [event.version for event in stream] == [1, 2, 3]
        assert stream[1:] == winners[0]
        assert await store.head_position() == 3

    async def test_processed_message_is_recorded_with_the_append(self, store: EventStore) -> None:
        message = ProcessedMessage("command-processor", "cmd-1")
        assert not await store.is_processed("command-processor", "cmd-1")

        await store.append("order-a", "order", 0, numbered(1), processed=message)

        assert await store.is_processed("command-processor", "cmd-1")
        assert not await store.is_processed("projections", "cmd-1")
        assert not await store.is_processed("command-processor", "cmd-2")

    async def test_a_processed_message_again_raises_and_appends_nothing(
        self, store: EventStore
    ) -> None:
        message = ProcessedMessage("command-processor", "cmd-1")
        first = await store.append("order-a", "order", 0, numbered(1), processed=message)

        with pytest.raises(AlreadyProcessed) as caught:
            await store.append("order-b", "order", 0, numbered(2), processed=message)

        assert (caught.value.consumer, caught.value.message_id) == ("command-processor", "cmd-1")
        assert "'cmd-1'" in str(caught.value) and "'command-processor'" in str(caught.value)
        assert await store.read_stream("order-b") == []
        assert await store.read_all() == first

    async def test_a_redelivered_message_is_already_processed_not_a_conflict(
        self, store: EventStore
    ) -> None:
        message = ProcessedMessage("command-processor", "cmd-1")
        await store.append("order-a", "order", 0, numbered(1), processed=message)

        # The redelivery decides against the same old state, so it also expects version 0.
        with pytest.raises(AlreadyProcessed):
            await store.append("order-a", "order", 0, numbered(1), processed=message)

        assert await store.stream_version("order-a") == 1

    async def test_a_conflicting_append_does_not_record_its_message(
        self, store: EventStore
    ) -> None:
        await store.append("order-a", "order", 0, numbered(1))
        message = ProcessedMessage("command-processor", "cmd-2")

        with pytest.raises(ConcurrencyConflict):
            await store.append("order-a", "order", 0, numbered(1), processed=message)

        assert not await store.is_processed("command-processor", "cmd-2")
        # So the retry, at the right version, goes through.
        await store.append("order-a", "order", 1, numbered(1), processed=message)
        assert await store.stream_version("order-a") == 2

    async def test_concurrent_appends_for_one_message_exactly_one_wins(
        self, store: EventStore
    ) -> None:
        message = ProcessedMessage("inbound-mapping", "scm-42")

        outcomes = await asyncio.gather(
            *(
                store.append(f"order-{k}", "order", 0, numbered(1), processed=message)
                for k in range(5)
            ),
            return_exceptions=True,
        )

        assert sum(isinstance(outcome, list) for outcome in outcomes) == 1
        assert sum(isinstance(outcome, AlreadyProcessed) for outcome in outcomes) == 4
        assert await store.head_position() == 1

    async def test_an_empty_append_records_its_message_only(self, store: EventStore) -> None:
        message = ProcessedMessage("command-processor", "cmd-noop")

        assert await store.append("order-a", "order", 0, [], processed=message) == []

        assert await store.is_processed("command-processor", "cmd-noop")
        assert await store.head_position() == 0
        with pytest.raises(ConcurrencyConflict):
            await store.append("order-a", "order", 1, [])

    async def test_read_all_follows_every_stream_in_position_order(self, store: EventStore) -> None:
        a1 = await store.append("order-a", "order", 0, numbered(2))
        b1 = await store.append("contact-b", "contact", 0, numbered(3))
        a2 = await store.append("order-a", "order", 2, numbered(1, start=3))
        log = a1 + b1 + a2

        everything = await store.read_all()
        assert everything == log
        assert [event.position for event in everything] == [1, 2, 3, 4, 5, 6]
        assert [(e.stream_id, e.version) for e in everything] == [
            ("order-a", 1),
            ("order-a", 2),
            ("contact-b", 1),
            ("contact-b", 2),
            ("contact-b", 3),
            ("order-a", 3),
        ]
        assert await store.read_all(after_position=2, limit=3) == log[2:5]
        assert await store.read_all(after_position=5, limit=10) == log[5:]
        assert await store.read_all(after_position=6) == []
        assert await store.read_all(limit=1) == log[:1]

    async def test_read_all_refuses_a_senseless_window(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="limit"):
            await store.read_all(limit=0)
        with pytest.raises(ValueError, match="after_position"):
            await store.read_all(after_position=-1)

    async def test_head_position_is_the_newest_position(self, store: EventStore) -> None:
        assert await store.head_position() == 0
        await store.append("order-a", "order", 0, numbered(2))
        await store.append("order-b", "order", 0, numbered(3))
        assert await store.head_position() == 5

    async def test_json_payloads_read_back_equal(self, store: EventStore) -> None:
        payload = {
            "order": {"lines": [{"qty": 2, "price": "12.50", "unit": "ea"}], "total": 25.5},
            "flags": [True, False, None],
            "name": "Zoë's order ✓",
            "big": 2**53 + 1,
            "empty": {},
        }
        await store.append("order-a", "order", 0, [new_event(payload=payload)])

        assert (await store.read_stream("order-a"))[0].payload == payload

    async def test_payload_is_a_copy_of_what_was_appended(self, store: EventStore) -> None:
        payload: dict[str, Any] = {"lines": [1]}
        await store.append("order-a", "order", 0, [new_event(payload=payload)])
        payload["lines"].append(2)

        first_read = (await store.read_stream("order-a"))[0].payload
        first_read["lines"].append(3)

        assert (await store.read_stream("order-a"))[0].payload == {"lines": [1]}

    @pytest.mark.parametrize(
        ("value", "named"),
        [
            (Decimal("12.50"), "Decimal"),
            (date(2025, 1, 1), "date"),
            (uuid.UUID(int=7), "UUID"),
            ((1, 2), "tuple"),
            ({1, 2}, "set"),
            (math.nan, "nan"),
            (math.inf, "inf"),
            ({3: "a"}, "key 3"),
        ],
    )
    async def test_a_payload_that_is_not_json_ready_is_refused_by_path(
        self, store: EventStore, value: object, named: str
    ) -> None:
        event = new_event(payload={"lines": [{"price": value}]})

        with pytest.raises(InvalidEvent, match=named) as caught:
            await store.append("order-a", "order", 0, [new_event(), event])

        assert "events[1].payload['lines'][0]['price']" in str(caught.value)
        assert await store.head_position() == 0

    @pytest.mark.parametrize(
        ("event", "named"),
        [
            (new_event(occurred_at=datetime(2025, 1, 1)), "timezone-aware"),
            (new_event(origin="erp"), "origin"),
            (new_event(payload=["not", "a", "dict"]), "must be a dict"),
        ],
    )
    async def test_an_unusable_event_is_refused(
        self, store: EventStore, event: NewEvent, named: str
    ) -> None:
        with pytest.raises(InvalidEvent, match=named):
            await store.append("order-a", "order", 0, [event])
        assert await store.head_position() == 0

    async def test_a_negative_expected_version_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidEvent, match="expected_version"):
            await store.append("order-a", "order", -1, numbered(1))

    async def test_an_event_id_is_stored_once(self, store: EventStore) -> None:
        twin = new_event()
        with pytest.raises(InvalidEvent, match="twice"):
            await store.append("order-a", "order", 0, [twin, twin])
        await store.append("order-a", "order", 0, [twin])

        with pytest.raises(InvalidEvent, match=str(twin.event_id)):
            await store.append("order-b", "order", 0, [new_event(event_id=twin.event_id)])

        assert await store.head_position() == 1
        assert await store.stream_version("order-b") == 0


class CheckpointStoreContract:
    """Saving and reading how far a follower of the log has got."""

    async def test_an_unknown_checkpoint_is_zero(self, checkpoints: CheckpointStore) -> None:
        assert await checkpoints.get("outbox-relay") == 0

    async def test_set_then_get(self, checkpoints: CheckpointStore) -> None:
        await checkpoints.set("outbox-relay", 42)
        assert await checkpoints.get("outbox-relay") == 42

    async def test_set_overwrites_even_backwards(self, checkpoints: CheckpointStore) -> None:
        await checkpoints.set("projection:orders", 42)
        await checkpoints.set("projection:orders", 50)
        assert await checkpoints.get("projection:orders") == 50
        # A projection rebuild starts over from the beginning.
        await checkpoints.set("projection:orders", 0)
        assert await checkpoints.get("projection:orders") == 0

    async def test_names_are_independent(self, checkpoints: CheckpointStore) -> None:
        await checkpoints.set("outbox-relay", 7)
        await checkpoints.set("projection:orders", 3)
        assert await checkpoints.get("outbox-relay") == 7
        assert await checkpoints.get("projection:orders") == 3

    async def test_a_negative_position_is_refused(self, checkpoints: CheckpointStore) -> None:
        with pytest.raises(ValueError, match="0 or more"):
            await checkpoints.set("outbox-relay", -1)
        assert await checkpoints.get("outbox-relay") == 0
