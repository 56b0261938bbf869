"""Portal commands: the payloads on portal.commands.v1 (JSON names of SPEC §7).

The models check types and obvious shape only; business rules (who may do what, which
contact fields an order needs) belong to sync_service's command processor.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Self
from uuid import UUID

from pydantic import Field, model_validator

from contracts.bounds import (
    MAX_ORDER_LINES,
    Code,
    Email,
    IsoDate,
    Name,
    Quantity,
    Street,
    Timestamp,
)
from contracts.envelope import Message, Record
from contracts.values import Actor, CompanyCode, InvitationKind, SecretHash, WebRole

__all__ = [
    "DeliveryAddress",
    "InviteContact",
    "OrderLineRequest",
    "PortalCommand",
    "RedeemInvitation",
    "RevokeCredential",
    "SubmitOrder",
    "UpsertContact",
]


class UpsertContact(Message):
    """Create or update a contact record (`PUT /admin/contacts/{contact_id}`)."""

    message_type: ClassVar[str] = "UpsertContact"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    contact_id: UUID
    firstname: Name | None = None
    lastname: Name | None = None
    email: Email | None = None
    company: CompanyCode | None = None
    account_number: Code | None = None
    price_list: Code | None = None
    currency: Code | None = None
    ship_to_country: Code | None = None
    language: Code | None = None
    web_roles: list[WebRole] = Field(default_factory=list, max_length=3)


class InviteContact(Message):
    """Invite a contact; the code travels only as its hash."""

    message_type: ClassVar[str] = "InviteContact"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    invitation_id: UUID
    contact_id: UUID
    kind: InvitationKind = "single"
    max_redemptions: Annotated[int, Field(ge=1, le=2**31 - 1)] = 1
    code_hash: SecretHash
    expires_at: Timestamp

    @model_validator(mode="after")
    def _single_is_redeemed_once(self) -> Self:
        if self.kind == "single" and self.max_redemptions != 1:
            raise ValueError("a single invitation has max_redemptions 1")
        return self


class RedeemInvitation(Message):
    """Redeem an invitation (found by id or code hash); the credential travels as its hash."""

    message_type: ClassVar[str] = "RedeemInvitation"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    invitation_id: UUID | None = None
    code_hash: SecretHash | None = None
    contact_id: UUID
    credential_hash: SecretHash
    credential_expires_at: Timestamp | None = None
    """When the minted credential stops working; None: never (commands sent before issue 16)."""

    @model_validator(mode="after")
    def _names_the_invitation(self) -> Self:
        if self.invitation_id is None and self.code_hash is None:
            raise ValueError("give invitation_id or code_hash")
        return self


class RevokeCredential(Message):
    """Revoke one of a contact's credentials (named by its id, never by the secret or hash)."""

    message_type: ClassVar[str] = "RevokeCredential"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    contact_id: UUID
    credential_id: UUID


class DeliveryAddress(Record):
    """The order wizard's delivery address."""

    street: Street
    city: Name
    postal_code: Code


class OrderLineRequest(Record):
    """One requested item: product, quantity (> 0) and unit."""

    product_number: Code
    quantity: Annotated[Quantity, Field(gt=0)]
    unit: Code


class SubmitOrder(Message):
    """Submit an order; company, customer_account and ship_to_country are admin-only."""

    message_type: ClassVar[str] = "SubmitOrder"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    order_id: UUID
    contact_id: UUID
    requested_receipt_date: IsoDate
    delivery_address: DeliveryAddress
    requisition_number: Code | None = None
    company: CompanyCode | None = None
    customer_account: Code | None = None
    ship_to_country: Code | None = None
    lines: Annotated[list[OrderLineRequest], Field(max_length=MAX_ORDER_LINES)]


PortalCommand = UpsertContact | InviteContact | RedeemInvitation | RevokeCredential | SubmitOrder
"""Any payload of portal.commands.v1."""
