"""Portal commands: the payloads on portal.commands.v1 (JSON names of SPEC §7).

The models check types and obvious shape only; business rules (who may do what, which
contact fields an order needs) belong to sync_service's command processor.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from contracts.envelope import Message, Record
from contracts.values import Actor, CompanyCode, InvitationKind, SecretHash, WebRole

__all__ = [
    "DeliveryAddress",
    "InviteContact",
    "OrderLineRequest",
    "PortalCommand",
    "RedeemInvitation",
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
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    company: CompanyCode | None = None
    account_number: str | None = None
    price_list: str | None = None
    currency: str | None = None
    ship_to_country: str | None = None
    language: str | None = None
    web_roles: list[WebRole] = Field(default_factory=list)


class InviteContact(Message):
    """Invite a contact; the code travels only as its hash."""

    message_type: ClassVar[str] = "InviteContact"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    invitation_id: UUID
    contact_id: UUID
    kind: InvitationKind = "single"
    max_redemptions: Annotated[int, Field(ge=1)] = 1
    code_hash: SecretHash
    expires_at: AwareDatetime

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

    @model_validator(mode="after")
    def _names_the_invitation(self) -> Self:
        if self.invitation_id is None and self.code_hash is None:
            raise ValueError("give invitation_id or code_hash")
        return self


class DeliveryAddress(Record):
    """The order wizard's delivery address."""

    street: str
    city: str
    postal_code: str


class OrderLineRequest(Record):
    """One requested item: product, quantity (> 0) and unit."""

    product_number: str
    quantity: Annotated[Decimal, Field(gt=0)]
    unit: str


class SubmitOrder(Message):
    """Submit an order; company, customer_account and ship_to_country are admin-only."""

    message_type: ClassVar[str] = "SubmitOrder"
    schema_version: ClassVar[int] = 1

    command_id: UUID
    issued_by: Actor
    order_id: UUID
    contact_id: UUID
    requested_receipt_date: date
    delivery_address: DeliveryAddress
    requisition_number: str | None = None
    company: CompanyCode | None = None
    customer_account: str | None = None
    ship_to_country: str | None = None
    lines: list[OrderLineRequest]


PortalCommand = UpsertContact | InviteContact | RedeemInvitation | SubmitOrder
"""Any payload of portal.commands.v1."""
