"""Where a command stands, for answers that could not wait for its outcome (202 + Location)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from portal_api.openapi import NEEDS_STORE, WITH_PARAMETERS
from portal_api.schemas import CommandStatus
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = APIRouter(tags=["commands"], responses=NEEDS_STORE)


@router.get("/commands/{command_id}", response_model=CommandStatus, responses=WITH_PARAMETERS)
async def command_status(command_id: UUID, request: Request) -> CommandStatus:
    """`accepted` or `rejected` (with the fields at fault) once processed, else `pending`."""
    # Open to anyone: ids are random, and the answer reveals only the outcome of that command.
    reader: WriteModelReader = request.app.state.reader
    outcome = await reader.command_outcome(command_id)
    if outcome is None:
        return CommandStatus(command_id=command_id, status="pending")
    return CommandStatus(
        command_id=command_id,
        status=outcome.status,
        errors=[error.model_dump() for error in outcome.errors],
    )
