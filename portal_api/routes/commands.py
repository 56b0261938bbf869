"""Where a command stands, for answers that could not wait for its outcome (202 + Location)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from portal_api.auth import IdentifiedCaller
from portal_api.openapi import NEEDS_STORE, WITH_PARAMETERS, problem_answers
from portal_api.problems import Problem
from portal_api.schemas import CommandStatus
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = APIRouter(tags=["commands"], responses=NEEDS_STORE)


@router.get(
    "/commands/{command_id}",
    response_model=CommandStatus,
    responses={**WITH_PARAMETERS, **problem_answers(401, 404)},
)
async def command_status(
    command_id: UUID, request: Request, caller: IdentifiedCaller
) -> CommandStatus:
    """`accepted` or `rejected` (with the fields at fault) once processed, else `pending`.

    Only for the caller who sent the command and for Administrators: 401 without a credential,
    404 for anyone else, as for an id never sent (a SubmitOrder's id follows from its order's,
    which is no secret).
    """
    reader: WriteModelReader = request.app.state.reader
    if not caller.is_admin:
        issuer = await reader.command_issuer(command_id)
        if issuer is None or issuer != caller.actor:
            raise Problem(404, "no such command, or not one you sent")
    outcome = await reader.command_outcome(command_id)
    if outcome is None:
        return CommandStatus(command_id=command_id, status="pending")
    return CommandStatus(
        command_id=command_id,
        status=outcome.status,
        errors=[error.model_dump() for error in outcome.errors],
    )
