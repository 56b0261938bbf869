"""The names the event store package exports are the port, and only the port."""

from __future__ import annotations

import sync_service.eventstore as eventstore


def test_exported_names() -> None:
    assert sorted(eventstore.__all__) == sorted(
        [
            "ORIGINS",
            "AlreadyProcessed",
            "CheckpointStore",
            "ConcurrencyConflict",
            "EventStore",
            "EventStoreError",
            "InvalidEvent",
            "NewEvent",
            "ProcessedMessage",
            "StoredEvent",
        ]
    )
    assert all(hasattr(eventstore, name) for name in eventstore.__all__)


def test_the_port_does_not_import_sqlalchemy() -> None:
    import subprocess
    import sys

    # A fresh interpreter: this test process has SQLAlchemy loaded by other tests already.
    code = (
        "import sys, sync_service.eventstore, sync_service.eventstore.memory;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'asyncpg')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
