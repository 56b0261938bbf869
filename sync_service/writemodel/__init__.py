"""The write model: current state for command checks and the API, derived from the events."""

from sync_service.writemodel.base import (
    CommandOutcome,
    IdempotencyKeyReused,
    ListedInvitation,
    ProductOffer,
    WriteModelReader,
)

__all__ = [
    "CommandOutcome",
    "IdempotencyKeyReused",
    "ListedInvitation",
    "ProductOffer",
    "WriteModelReader",
]
