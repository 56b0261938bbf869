"""Sending one command from a request and turning its outcome into an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse

from contracts.commands import PortalCommand
from portal_api.command_bus import CommandBus
from portal_api.outcomes import wait_for_outcome
from portal_api.problems import Problem
from portal_api.unavailable import RETRY_AFTER_S
from sync_service.command_processor import command_envelope, command_key
from sync_service.failures import is_outage
from sync_service.metrics import COMMANDS_ACCEPTED, COMMANDS_REFUSED
from sync_service.settings import Settings
from sync_service.writemodel.base import CommandOutcome, WriteModelReader

__all__ = ["Dispatched", "dispatch", "pending_response", "refused"]


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A command on Kafka, and its outcome if it arrived within the wait."""

    command_id: UUID
    outcome: CommandOutcome | None


async def dispatch(
    request: Request,
    command: PortalCommand,
    *,
    company: str | None,
    wait: bool,
) -> Dispatched:
    """Publish `command`, keyed by its aggregate; wait for its outcome when asked."""
    settings: Settings = request.app.state.settings
    bus: CommandBus = request.app.state.bus
    reader: WriteModelReader = request.app.state.reader
    message = command_envelope(command, company=company or settings.default_company)
    # Before publishing: the issuer may ask GET /commands/{id} at once, and nobody else may.
    # With PostgreSQL away the command still goes (as before); only administrators see it then.
    try:
        await reader.record_command_issuer(command.command_id, command.issued_by)
    except Exception as exc:
        if not is_outage(exc):
            raise
    try:
        await bus.send(message, command_key(command).decode("utf-8"))
    except Exception as exc:  # any producer failure: Kafka did not acknowledge the command
        COMMANDS_REFUSED.labels(message.type, "unavailable").inc()
        reason = str(exc) or type(exc).__name__
        raise Problem(
            503,
            f"Kafka did not take the command ({reason}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc
    COMMANDS_ACCEPTED.labels(message.type).inc()
    if not wait:
        return Dispatched(command.command_id, None)
    outcome = await wait_for_outcome(reader, command.command_id, settings.command_wait_s)
    return Dispatched(command.command_id, outcome)


def pending_response(command_id: UUID, extra: dict[str, Any] | None = None) -> JSONResponse:
    """202: accepted on Kafka, outcome not known yet; where to ask."""
    location = f"/commands/{command_id}"
    body = {"command_id": str(command_id), "status": "pending", "status_url": location}
    return JSONResponse({**body, **(extra or {})}, status_code=202, headers={"Location": location})


def refused(outcome: CommandOutcome, status: int = 422) -> Problem:
    """The processor refused the command: a problem naming its fields."""
    return Problem(status, f"{outcome.command_type} was refused", errors=outcome.errors)
