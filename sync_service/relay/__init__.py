"""The outbox relay: the event store's log, published to cds.events.v1 in order, at least once."""

from sync_service.relay.leadership import RELAY_LOCK_KEY
from sync_service.relay.outbox import RELAY_CHECKPOINT, OutboxRelay, run_relay

__all__ = ["RELAY_CHECKPOINT", "RELAY_LOCK_KEY", "OutboxRelay", "run_relay"]
