"""Domain events: the payloads on cds.events.v1, stored in the event store."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from contracts.bounds import Code, Note, Timestamp
from contracts.cds import Account, Contact, Product, ProductPriceLevel, SalesOrder
from contracts.envelope import Message
from contracts.errors import FieldError
from contracts.values import Actor, InvitationKind, OrderSyncStatus, SecretHash

__all__ = [
    "CommandRejected",
    "ContactUpserted",
    "CredentialRevoked",
    "CustomerAccountUpserted",
    "DomainEvent",
    "InvitationIssued",
    "InvitationRedeemed",
    "OrderSubmitted",
    "OrderSyncStatusChanged",
    "PriceListPriceUpserted",
    "ProductUpserted",
]


class ContactUpserted(Message):
    """A contact was created or changed (from the portal or from SCM)."""

    message_type: ClassVar[str] = "ContactUpserted"
    schema_version: ClassVar[int] = 1

    contact: Contact


class CustomerAccountUpserted(Message):
    """A customer account was created or changed."""

    message_type: ClassVar[str] = "CustomerAccountUpserted"
    schema_version: ClassVar[int] = 1

    account: Account


class ProductUpserted(Message):
    """A released product was created or changed in SCM."""

    message_type: ClassVar[str] = "ProductUpserted"
    schema_version: ClassVar[int] = 1

    product: Product


class PriceListPriceUpserted(Message):
    """A price-list price was created or changed in SCM."""

    message_type: ClassVar[str] = "PriceListPriceUpserted"
    schema_version: ClassVar[int] = 1

    price: ProductPriceLevel


class InvitationIssued(Message):
    """An administrator invited a contact; only the code's hash is kept."""

    message_type: ClassVar[str] = "InvitationIssued"
    schema_version: ClassVar[int] = 1

    invitation_id: UUID
    contact_id: UUID
    kind: InvitationKind
    max_redemptions: Annotated[int, Field(ge=1, le=2**31 - 1)]
    code_hash: SecretHash
    expires_at: Timestamp


class InvitationRedeemed(Message):
    """A contact redeemed an invitation and got a credential (kept as its hash)."""

    message_type: ClassVar[str] = "InvitationRedeemed"
    schema_version: ClassVar[int] = 1

    invitation_id: UUID
    contact_id: UUID
    credential_hash: SecretHash
    redemption: Annotated[int, Field(ge=1, le=2**31 - 1)]
    """1 for the first redemption of the invitation, 2 for the second, ..."""
    expires_at: Timestamp | None = None
    """When the credential stops working; None: never (credentials minted before issue 16)."""


class CredentialRevoked(Message):
    """A contact's credential was revoked: from now on it opens nothing."""

    message_type: ClassVar[str] = "CredentialRevoked"
    schema_version: ClassVar[int] = 1

    contact_id: UUID
    credential_id: UUID
    revoked_by: Actor


class OrderSubmitted(Message):
    """An order was accepted: the CDS sales order with its lines, and who placed it."""

    message_type: ClassVar[str] = "OrderSubmitted"
    schema_version: ClassVar[int] = 1

    order: SalesOrder
    submitted_by: Actor


class OrderSyncStatusChanged(Message):
    """An order's sync status as the portal shows it changed (SPEC §3)."""

    message_type: ClassVar[str] = "OrderSyncStatusChanged"
    schema_version: ClassVar[int] = 1

    salesorderid: UUID
    status: OrderSyncStatus
    sales_order_number: Code | None = None
    """SCM's sales order number, once SCM has numbered the order."""
    reason: Note | None = None
    """Why, for `sync_failed` (e.g. the SCM field that is missing)."""


class CommandRejected(Message):
    """A command was refused; `errors` names every field at fault."""

    message_type: ClassVar[str] = "CommandRejected"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    command_type: Code
    errors: Annotated[list[FieldError], Field(min_length=1)]


DomainEvent = (
    ContactUpserted
    | CustomerAccountUpserted
    | ProductUpserted
    | PriceListPriceUpserted
    | InvitationIssued
    | InvitationRedeemed
    | CredentialRevoked
    | OrderSubmitted
    | OrderSyncStatusChanged
    | CommandRejected
)
"""Any payload of cds.events.v1."""
