"""Read-your-writes: wait, bounded, for the command processor's outcome of a command."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from sync_service.failures import is_outage
from sync_service.writemodel.base import CommandOutcome, WriteModelReader

__all__ = ["wait_for_outcome"]

_FIRST_PAUSE_S = 0.005
_LONGEST_PAUSE_S = 0.05


async def wait_for_outcome(
    reader: WriteModelReader, command_id: UUID, timeout_s: float
) -> CommandOutcome | None:
    """The outcome once recorded, or None when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            outcome = await reader.command_outcome(command_id)
        except Exception as error:
            # The command is on Kafka already: PostgreSQL away now means "not known yet" (202
            # with the status URL), not a 503 that would make the client send it again.
            if not is_outage(error):
                raise
            outcome = None
        if outcome is not None:
            return outcome
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        # Outcomes usually land within milliseconds; back off gently for the slow ones.
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, _LONGEST_PAUSE_S)
