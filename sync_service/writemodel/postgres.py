"""The write model reader on PostgreSQL, for the API; plus the Idempotency-Key claim."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.cds import Account, Contact
from sync_service.db.schema import command_issuers, idempotency_keys
from sync_service.domain.catalog import Catalog
from sync_service.domain.credentials import CredentialState
from sync_service.domain.invitations import InvitationState
from sync_service.domain.roles import Caller
from sync_service.writemodel import queries
from sync_service.writemodel.base import (
    CommandOutcome,
    CredentialHolder,
    IdempotencyKeyReused,
    ListedInvitation,
    ProductOffer,
)

__all__ = ["PostgresWriteModelReader"]


class PostgresWriteModelReader:
    """A WriteModelReader over the write-model tables; each call reads what is committed now."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as connection:
            # Single reads: no BEGIN/ROLLBACK round trips.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The contact record, if there is one."""
        async with self._connect() as connection:
            return await queries.contact(connection, contact_id)

    async def contacts_by_email(self, email: str) -> list[Contact]:
        """Contacts with this email, compared case-insensitively."""
        async with self._connect() as connection:
            return await queries.contacts_by_email(connection, email)

    async def contacts(self, *, limit: int, offset: int = 0) -> list[Contact]:
        """Every contact by last name, first name and id: `limit` of them from `offset` on."""
        async with self._connect() as connection:
            return await queries.contact_list(connection, limit=limit, offset=offset)

    async def contacts_of_account(self, company: str, account_number: str) -> list[Contact]:
        """The contacts of one customer account (GET /account)."""
        async with self._connect() as connection:
            return await queries.contacts_of_account(connection, company, account_number)

    async def caller_for_credential(self, credential_hash: str) -> Caller | None:
        """The contact this credential belongs to, with its current roles; None if unknown."""
        async with self._connect() as connection:
            return await queries.caller_for_credential(connection, credential_hash)

    async def credential_holder(self, credential_hash: str) -> CredentialHolder | None:
        """The credential with this hash (expired or revoked too) and its contact; None if
        unknown."""
        async with self._connect() as connection:
            return await queries.credential_holder(connection, credential_hash)

    async def credentials_of(self, contact_id: UUID) -> list[CredentialState]:
        """The contact's credentials, revoked and expired ones too, newest first."""
        async with self._connect() as connection:
            return await queries.credentials_of(connection, contact_id)

    async def invitation_by_code_hash(self, code_hash: str) -> InvitationState | None:
        """The invitation issued with this code, if any."""
        async with self._connect() as connection:
            return await queries.invitation_by_code_hash(connection, code_hash)

    async def invitations(
        self, now: datetime, *, limit: int, offset: int = 0, contact_id: UUID | None = None
    ) -> list[ListedInvitation]:
        """Invitations (of one contact, if given), latest expiry first, with their status at
        `now`: `limit` of them from `offset` on."""
        async with self._connect() as connection:
            return await queries.invitation_list(
                connection, now, limit=limit, offset=offset, contact_id=contact_id
            )

    async def customer_account(self, company: str, account_number: str) -> Account | None:
        """The customer account record, if there is one."""
        async with self._connect() as connection:
            return await queries.customer_account(connection, company, account_number)

    async def customer_accounts(self) -> list[Account]:
        """Every customer account, by company and account number (an Administrator's choice)."""
        async with self._connect() as connection:
            return await queries.all_customer_accounts(connection)

    async def products_for(self, company: str, price_list: str | None) -> list[ProductOffer]:
        """The company's products with units and prices from `price_list` (GET /products)."""
        async with self._connect() as connection:
            return await queries.products_for(connection, company, price_list)

    async def catalog(self, company: str, product_numbers: list[str] | None = None) -> Catalog:
        """The catalog an order check prices from (all price lists of the given products)."""
        async with self._connect() as connection:
            return await queries.catalog(connection, company, product_numbers)

    async def account_and_catalog(
        self, company: str, account_number: str | None, product_numbers: list[str]
    ) -> tuple[Account | None, Catalog]:
        """`customer_account` (None without a number) and `catalog`, read in one go."""
        # One pooled connection for both (one checkout, one liveness ping), not one each:
        # every order check reads both.
        async with self._connect() as connection:
            account = None
            if account_number:
                account = await queries.customer_account(connection, company, account_number)
            return account, await queries.catalog(connection, company, product_numbers)

    async def command_outcome(self, command_id: UUID) -> CommandOutcome | None:
        """The command's outcome once the processor has handled it."""
        async with self._connect() as connection:
            return await queries.command_outcome(connection, command_id)

    async def record_command_issuer(self, command_id: UUID, issued_by: str) -> None:
        """Remember who sent the command through the API (before it is published)."""
        statement = (
            insert(command_issuers)
            .values(command_id=command_id, issued_by=issued_by)
            .on_conflict_do_nothing()  # a resend of the same command by its issuer
        )
        async with self._connect() as connection:
            await connection.execute(statement)

    async def command_issuer(self, command_id: UUID) -> str | None:
        """The `issued_by` of a command sent through the API; None for any other id."""
        query = select(command_issuers.c.issued_by).where(
            command_issuers.c.command_id == command_id
        )
        async with self._connect() as connection:
            found: str | None = await connection.scalar(query)
            return found

    async def claim_idempotency_key(
        self, caller_id: str, key: str, fingerprint: str, order_id: UUID
    ) -> UUID | None:
        """None when newly claimed for `order_id`; the earlier order id when the same request
        was sent before; IdempotencyKeyReused when the key was used for another request."""
        claim = (
            insert(idempotency_keys)
            .values(caller_id=caller_id, key=key, fingerprint=fingerprint, order_id=order_id)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.order_id)
        )
        earlier = select(idempotency_keys.c.fingerprint, idempotency_keys.c.order_id).where(
            idempotency_keys.c.caller_id == caller_id, idempotency_keys.c.key == key
        )
        async with self._connect() as connection:
            # One atomic statement decides who claims; a loser then reads the winner's row, which
            # is committed by then (ON CONFLICT waits for the other inserting transaction).
            if (await connection.scalar(claim)) is not None:
                return None
            row = (await connection.execute(earlier)).one()
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(caller_id, key, row.order_id)
        return UUID(str(row.order_id))

    async def claimed_order(self, caller_id: str, order_id: UUID) -> bool:
        """Whether `caller_id` submitted `order_id` with an Idempotency-Key (it is theirs)."""
        claimed = select(idempotency_keys.c.key).where(
            idempotency_keys.c.caller_id == caller_id, idempotency_keys.c.order_id == order_id
        )
        async with self._connect() as connection:
            return (await connection.scalar(claimed.limit(1))) is not None
