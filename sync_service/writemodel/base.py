"""The write model's reading port: what the API and the command checks ask of current state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol
from uuid import UUID

from contracts.cds import Account, Contact
from contracts.errors import FieldError
from sync_service.domain.catalog import Catalog
from sync_service.domain.credentials import CredentialState
from sync_service.domain.invitations import InvitationState, InvitationStatus
from sync_service.domain.roles import Caller

__all__ = [
    "CommandOutcome",
    "CredentialHolder",
    "IdempotencyKeyReused",
    "ListedInvitation",
    "ProductOffer",
    "WriteModelReader",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductOffer:
    """A product as a caller may order it: its units and the caller's price per unit."""

    product_number: str
    name: str | None
    default_unit: str | None
    units: dict[str, Decimal]
    """Unit symbol -> factor to the default unit."""
    prices: dict[str, Decimal] = field(default_factory=dict)
    """Unit symbol -> price on the caller's price list (else the list price); priced units only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedInvitation:
    """An issued invitation in the administrators' list: whom it invites, where it stands."""

    invitation: InvitationState
    status: InvitationStatus
    """At the time the list was read (sync_service.domain.invitations.invitation_status)."""
    contact_name: str | None
    contact_email: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialHolder:
    """A credential found by its hash, and the contact holding it with its roles as of now."""

    caller: Caller
    credential: CredentialState


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandOutcome:
    """What became of a command: `GET /commands/{id}`, and the API's read-your-writes wait."""

    command_id: UUID
    command_type: str
    status: Literal["accepted", "rejected"]
    errors: list[FieldError]
    stream_id: str | None
    aggregate_id: str | None
    recorded_at: datetime


class IdempotencyKeyReused(Exception):
    """The caller used an Idempotency-Key before for a different request (answer 422)."""

    def __init__(self, caller_id: str, key: str, order_id: UUID) -> None:
        super().__init__(f"idempotency key {key!r} of {caller_id} was used for another request")
        self.caller_id = caller_id
        self.key = key
        self.order_id = order_id


class WriteModelReader(Protocol):
    """Reads of current state; every answer reflects the events committed so far."""

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The contact record, if there is one."""
        ...

    async def contacts_by_email(self, email: str) -> list[Contact]:
        """Contacts with this email, compared case-insensitively."""
        ...

    async def contacts(self, *, limit: int, offset: int = 0) -> list[Contact]:
        """Every contact by last name, first name and id: `limit` of them from `offset` on."""
        ...

    async def contacts_of_account(self, company: str, account_number: str) -> list[Contact]:
        """The contacts of one customer account (GET /account)."""
        ...

    async def caller_for_credential(self, credential_hash: str) -> Caller | None:
        """The contact this credential belongs to, with its current roles; None if unknown.

        Whether it still works (expiry, revocation) is `credential_holder`'s to tell."""
        ...

    async def credential_holder(self, credential_hash: str) -> CredentialHolder | None:
        """The credential with this hash (expired or revoked too) and its contact; None if
        unknown."""
        ...

    async def credentials_of(self, contact_id: UUID) -> list[CredentialState]:
        """The contact's credentials, revoked and expired ones too, newest first."""
        ...

    async def invitation_by_code_hash(self, code_hash: str) -> InvitationState | None:
        """The invitation issued with this code, if any."""
        ...

    async def invitations(
        self, now: datetime, *, limit: int, offset: int = 0, contact_id: UUID | None = None
    ) -> list[ListedInvitation]:
        """Invitations (of one contact, if given), latest expiry first, with their status at
        `now`: `limit` of them from `offset` on."""
        ...

    async def customer_account(self, company: str, account_number: str) -> Account | None:
        """The customer account record, if there is one."""
        ...

    async def customer_accounts(self) -> list[Account]:
        """Every customer account, by company and account number (an Administrator's choice)."""
        ...

    async def products_for(self, company: str, price_list: str | None) -> list[ProductOffer]:
        """The company's products with units and prices from `price_list` (GET /products)."""
        ...

    async def catalog(self, company: str, product_numbers: list[str] | None = None) -> Catalog:
        """The catalog an order check prices from (all price lists of the given products)."""
        ...

    async def account_and_catalog(
        self, company: str, account_number: str | None, product_numbers: list[str]
    ) -> tuple[Account | None, Catalog]:
        """`customer_account` (None without a number) and `catalog`, read in one go."""
        ...

    async def command_outcome(self, command_id: UUID) -> CommandOutcome | None:
        """The command's outcome once the processor has handled it."""
        ...

    async def record_command_issuer(self, command_id: UUID, issued_by: str) -> None:
        """Remember who sent the command through the API (before it is published)."""
        ...

    async def command_issuer(self, command_id: UUID) -> str | None:
        """The `issued_by` of a command sent through the API; None for any other id."""
        ...

    async def claim_idempotency_key(
        self, caller_id: str, key: str, fingerprint: str, order_id: UUID
    ) -> UUID | None:
        """None when newly claimed for `order_id`; the earlier order id when the same request
        was sent before; IdempotencyKeyReused when the key was used for another request."""
        ...

    async def claimed_order(self, caller_id: str, order_id: UUID) -> bool:
        """Whether `caller_id` submitted `order_id` with an Idempotency-Key (it is theirs)."""
        ...
