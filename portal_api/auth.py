"""Who is calling: the bearer credential resolved to a Caller with its current web roles."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from portal_api.clock import now
from portal_api.ops_page.session import OPS_COOKIE, OPS_COOKIE_PATH, ops_sessions, same_origin
from portal_api.portal_session import SESSION_COOKIE, signed_in
from portal_api.problems import Problem
from portal_api.redemption import client_key, refuse_while_throttled
from sync_service.domain.credentials import CredentialRefusal, credential_refusal, hash_secret
from sync_service.domain.roles import Caller
from sync_service.failures import is_outage
from sync_service.settings import Settings
from sync_service.signin.base import FailureThrottle
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "AdminCaller",
    "AnyCaller",
    "IdentifiedCaller",
    "OrderingCaller",
    "SignedInCaller",
    "caller_for_hash",
    "current_caller",
]

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
    # Guessing credentials (above all a weak administrator token) is throttled per client
    # address, like redemptions: past the limit even a right guess gets 429.
    throttle: FailureThrottle = request.app.state.bearer_throttle
    client = [client_key(request)]
    await _refuse_while_throttled(throttle, client)
    # Looked up by hash: the credential itself is stored nowhere.
    found = await _resolve(request, hash_secret(token))
    if found is None:
        await throttle.record_failure(client)
        raise Problem(401, "the credential is not valid", headers=_CHALLENGE)
    # Not counted as a failed guess: whoever holds an expired or revoked credential knew it.
    if isinstance(found, CredentialRefusal):
        raise Problem(
            401,
            found.message,
            type_=f"urn:dualsync:problem:credential-{found.value}",
            headers=_CHALLENGE,
        )
    return found


async def _refuse_while_throttled(throttle: FailureThrottle, client: list[str]) -> None:
    """429 while `client` has used up its failed bearer authentications.

    Not a reservation (one transaction more on every authenticated request): concurrent
    guesses sent within one round trip may each be judged. With PostgreSQL away the check is
    skipped: the administrator token still opens /ops and /readyz to see the outage.
    """
    try:
        await refuse_while_throttled(throttle, client)
    except Problem:
        raise
    except Exception as error:
        if not is_outage(error):
            raise


async def caller_for_hash(request: Request, credential_hash: str) -> Caller | None:
    """The caller whose credential hashes to `credential_hash` (as `current_caller` resolves it);
    None for an unknown, expired or revoked one (an ops session opened with it ends with it)."""
    found = await _resolve(request, credential_hash)
    return found if isinstance(found, Caller) else None


async def _resolve(request: Request, credential_hash: str) -> Caller | CredentialRefusal | None:
    """The caller a credential's hash stands for: the bootstrap administrator's token, or a
    contact's credential; why a known credential opens nothing; None for an unknown one."""
    settings: Settings = request.app.state.settings
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None
    if admin and hmac.compare_digest(credential_hash.encode(), hash_secret(admin).encode()):
        return Caller.bootstrap_admin()
    reader: WriteModelReader = request.app.state.reader
    holder = await reader.credential_holder(credential_hash)
    if holder is None:
        return None
    refusal = credential_refusal(holder.credential, now(request))
    return holder.caller if refusal is None else refusal


async def _bearer_or_ops_session(request: Request) -> Caller:
    """The bearer caller; for /ops paths without an Authorization header, the ops page's session
    or else a signed-in portal session (its contact's current roles: an Administrator's opens it).

    A session cookie travels with every request the browser makes, so a state-changing request
    signed in by it must also prove it comes from the page itself (CSRF).
    """
    session_id = request.cookies.get(OPS_COOKIE)
    portal_cookie = request.cookies.get(SESSION_COOKIE)
    if (
        request.headers.get("authorization")
        or (session_id is None and portal_cookie is None)
        or not (request.url.path + "/").startswith(OPS_COOKIE_PATH + "/")
    ):
        return await current_caller(request)
    credential_hash = ops_sessions(request).credential_hash(session_id)
    caller = None if credential_hash is None else await caller_for_hash(request, credential_hash)
    if caller is None and portal_cookie is not None:
        portal = await signed_in(request)
        caller = None if portal is None else portal.caller
    if caller is None:
        raise Problem(401, "the ops sign-in has ended; sign in again at /ops/login")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request):
        raise Problem(
            403, "a cross-site request is refused: send Origin, or the X-Dualsync-Ops: 1 header"
        )
    return caller


# The checks below are async although they await nothing: FastAPI runs a plain `def`
# dependency in a worker thread, two thread hops per order for a comparison each.
async def _signed_in(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller == Caller.anonymous():
        raise Problem(401, "sign in with a credential", headers=_CHALLENGE)
    return caller


async def _authorized(caller: Annotated[Caller, Depends(_signed_in)]) -> Caller:
    if not caller.is_authorized:
        raise Problem(403, "your contact has no web role that allows this")
    return caller


async def _ordering(caller: Annotated[Caller, Depends(_signed_in)]) -> Caller:
    if not caller.may_submit_orders:
        raise Problem(403, "your web role may not submit orders")
    return caller


async def _admin(caller: Annotated[Caller, Depends(_bearer_or_ops_session)]) -> Caller:
    if caller == Caller.anonymous():
        raise Problem(401, "sign in with a credential", headers=_CHALLENGE)
    if not caller.is_admin:
        raise Problem(403, "only an Administrator may do this")
    return caller


AnyCaller = Annotated[Caller, Depends(current_caller)]
IdentifiedCaller = Annotated[Caller, Depends(_signed_in)]
"""Any valid credential, whatever its web roles (401 without one)."""
SignedInCaller = Annotated[Caller, Depends(_authorized)]
OrderingCaller = Annotated[Caller, Depends(_ordering)]
AdminCaller = Annotated[Caller, Depends(_admin)]
