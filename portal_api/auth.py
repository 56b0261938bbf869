"""Who is calling: the bearer credential resolved to a Caller with its current web roles."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from portal_api.problems import Problem
from sync_service.domain.credentials import hash_secret
from sync_service.domain.roles import Caller
from sync_service.settings import Settings
from sync_service.writemodel.base import WriteModelReader

__all__ = ["AdminCaller", "AnyCaller", "OrderingCaller", "SignedInCaller", "current_caller"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_caller(request: Request) -> Caller:
    """The caller behind the request; no credential is the Unauthorized user (anonymous)."""
    header = request.headers.get("authorization")
    if not header:
        return Caller.anonymous()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "use 'Authorization: Bearer <credential>'", headers=_CHALLENGE)
    settings: Settings = request.app.state.settings
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Caller.bootstrap_admin()
    reader: WriteModelReader = request.app.state.reader
    # Looked up by hash: the credential itself is stored nowhere.
    caller = await reader.caller_for_credential(hash_secret(token))
    if caller is None:
        raise Problem(401, "the credential is not valid", headers=_CHALLENGE)
    return caller


def _signed_in(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller == Caller.anonymous():
        raise Problem(401, "sign in with a credential", headers=_CHALLENGE)
    return caller


def _authorized(caller: Annotated[Caller, Depends(_signed_in)]) -> Caller:
    if not caller.is_authorized:
        raise Problem(403, "your contact has no web role that allows this")
    return caller


def _ordering(caller: Annotated[Caller, Depends(_signed_in)]) -> Caller:
    if not caller.may_submit_orders:
        raise Problem(403, "your web role may not submit orders")
    return caller


def _admin(caller: Annotated[Caller, Depends(_signed_in)]) -> Caller:
    if not caller.is_admin:
        raise Problem(403, "only an Administrator may do this")
    return caller


AnyCaller = Annotated[Caller, Depends(current_caller)]
SignedInCaller = Annotated[Caller, Depends(_authorized)]
OrderingCaller = Annotated[Caller, Depends(_ordering)]
AdminCaller = Annotated[Caller, Depends(_admin)]
