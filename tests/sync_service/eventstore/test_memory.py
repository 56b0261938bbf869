"""The in-memory adapters pass the shared contract."""

from __future__ import annotations

import pytest

from sync_service.eventstore import CheckpointStore, EventStore
from sync_service.eventstore.memory import InMemoryCheckpointStore, InMemoryEventStore
from tests.sync_service.eventstore.contract import CheckpointStoreContract, EventStoreContract


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> EventStore:
        return InMemoryEventStore()


class TestInMemoryCheckpointStore(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self) -> CheckpointStore:
        return InMemoryCheckpointStore()
