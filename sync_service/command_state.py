"""What the command handlers read while deciding: the write model and the streams, as one unit of
work sees them, plus what commands decided earlier in the same unit.

The processor decides a whole batch of commands in one transaction. Most of a batch's commands
ask the same questions (the same orderer, account and catalog), so answers are remembered until
a decision changes the write model (a contact, an invitation, ...); and a stream's version and
event types include the events decided earlier in the batch, which are appended only at its end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cds import Account, Contact
from sync_service.domain.catalog import Catalog
from sync_service.domain.credentials import CredentialState
from sync_service.domain.invitations import InvitationState
from sync_service.domain.roles import Caller
from sync_service.eventstore.base import NewEvent
from sync_service.eventstore.postgres_transaction import STREAM_EVENT_TYPES, STREAM_VERSION
from sync_service.writemodel import queries

__all__ = ["WRITE_MODEL_NEUTRAL", "CommandState"]

T = TypeVar("T")

WRITE_MODEL_NEUTRAL: Final = frozenset({"OrderSubmitted", "CommandRejected"})
"""Event types that change nothing a handler reads from the write model (remembered answers
stay true after them)."""


class CommandState:
    """Reads on one transaction's connection, remembered; pending events counted in."""

    def __init__(
        self, connection: AsyncConnection, stored_versions: Mapping[str, int] | None = None
    ) -> None:
        self._connection = connection
        self._stored_versions = dict(stored_versions or {})
        self._pending: dict[str, list[str]] = {}
        self._remembered: dict[tuple[Any, ...], Any] = {}

    @property
    def connection(self) -> AsyncConnection:
        """The unit of work's connection, for reads the state does not offer."""
        return self._connection

    async def stream_version(self, stream_id: str) -> int:
        """The stream's version, counting the events decided earlier in this unit."""
        return await self._stored_version(stream_id) + len(self._pending.get(stream_id, ()))

    async def stream_event_types(self, stream_id: str) -> list[str]:
        """The types of the stream's events in version order, decided ones last."""
        stored: list[str] = []
        if await self._stored_version(stream_id) > 0:
            result = await self._connection.execute(STREAM_EVENT_TYPES, {"stream_id": stream_id})
            stored = list(result.scalars())
        return stored + self._pending.get(stream_id, [])

    def decided(self, stream_id: str, new_events: Iterable[NewEvent]) -> None:
        """Count `new_events` into the stream; forget answers if the write model changed."""
        types = [event.event_type for event in new_events]
        self._pending.setdefault(stream_id, []).extend(types)
        if any(event_type not in WRITE_MODEL_NEUTRAL for event_type in types):
            self._remembered.clear()

    async def caller_for_actor(self, actor: str) -> Caller:
        """The caller behind `issued_by`, with its contact's roles now."""
        return await self._remember(("caller", actor), queries.caller_for_actor, actor)

    async def caller_for_credential(self, credential_hash: str) -> Caller | None:
        """The contact a credential belongs to; None if it is unknown."""
        key = ("credential", credential_hash)
        return await self._remember(key, queries.caller_for_credential, credential_hash)

    async def credential(self, credential_id: UUID) -> CredentialState | None:
        """The credential with this id, if any."""
        key = ("credential_id", credential_id)
        return await self._remember(key, queries.credential, credential_id)

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The contact record, if there is one."""
        return await self._remember(("contact", contact_id), queries.contact, contact_id)

    async def customer_account(self, company: str, account_number: str) -> Account | None:
        """The customer account record, if there is one."""
        key = ("account", company, account_number)
        return await self._remember(key, queries.customer_account, company, account_number)

    async def catalog(self, company: str, product_numbers: list[str]) -> Catalog:
        """The catalog of the given products, with all their price-list prices."""
        key = ("catalog", company, tuple(product_numbers))
        return await self._remember(key, queries.catalog, company, product_numbers)

    async def invitation(self, invitation_id: UUID) -> InvitationState | None:
        """The invitation with this id, if any."""
        key = ("invitation", invitation_id)
        return await self._remember(key, queries.invitation, invitation_id)

    async def invitation_by_code_hash(self, code_hash: str) -> InvitationState | None:
        """The invitation issued with this code, if any."""
        key = ("code", code_hash)
        return await self._remember(key, queries.invitation_by_code_hash, code_hash)

    async def _stored_version(self, stream_id: str) -> int:
        version = self._stored_versions.get(stream_id)
        if version is None:
            found = await self._connection.scalar(STREAM_VERSION, {"stream_id": stream_id})
            version = self._stored_versions[stream_id] = int(found or 0)
        return version

    async def _remember(
        self, key: tuple[Any, ...], read: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        if key in self._remembered:
            answer: T = self._remembered[key]
            return answer
        answer = await read(self._connection, *args)
        self._remembered[key] = answer
        return answer
