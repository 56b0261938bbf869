"""The API's JSON bodies, with the names of SPEC §7; requests refuse unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.values import InvitationKind, WebRole

__all__ = [
    "CommandStatus",
    "ContactBody",
    "ContactView",
    "DeliveryAddressBody",
    "InvitationCreated",
    "InviteBody",
    "OrderAccepted",
    "OrderBody",
    "OrderLineBody",
    "ProductView",
    "RedeemBody",
    "Redeemed",
    "UnitPrice",
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MAX_LINES = 200
# Deliberately loose: the portal only needs an address to find a contact by, not RFC 5322.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class _Request(BaseModel):
    # A misspelt field must not be ignored silently: it is refused and named.
    model_config = ConfigDict(extra="forbid")


class ContactBody(_Request):
    """`PUT /admin/contacts/{contact_id}`: the whole contact record."""

    firstname: Text | None = None
    lastname: Text
    email: Email
    company: Text | None = None
    account_number: Text | None = None
    price_list: Text | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    ship_to_country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    language: Text | None = None
    web_roles: list[WebRole] = Field(default_factory=list, max_length=3)


class ContactView(BaseModel):
    """A contact as the API shows it."""

    contact_id: UUID
    firstname: str | None
    lastname: str | None
    email: str | None
    company: str | None
    account_number: str | None
    price_list: str | None
    currency: str | None
    ship_to_country: str | None
    language: str | None
    web_roles: list[str]


class InviteBody(_Request):
    """`POST /admin/invitations`."""

    contact_id: UUID
    kind: InvitationKind = "single"
    max_redemptions: Annotated[int, Field(ge=1, le=10_000)] | None = None
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None


class InvitationCreated(BaseModel):
    """The invitation code, shown once; only its hash is stored."""

    invitation_id: UUID
    contact_id: UUID
    code: str
    kind: InvitationKind
    max_redemptions: int
    expires_at: datetime


class RedeemBody(_Request):
    """`POST /invitations/redeem`."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Redeemed(BaseModel):
    """The credential for `Authorization: Bearer`, shown once; only its hash is stored."""

    credential: str
    contact_id: UUID
    web_roles: list[str]


class UnitPrice(BaseModel):
    """A unit a product is sold in, and the caller's price for it."""

    unit: str
    factor: Decimal
    price: Decimal | None


class ProductView(BaseModel):
    """A product with its units and the caller's price-list prices."""

    product_number: str
    name: str | None
    default_unit: str | None
    units: list[UnitPrice]
    currency: str | None


class DeliveryAddressBody(_Request):
    """The order wizard's delivery address."""

    street: Text
    city: Text
    postal_code: Text


class OrderLineBody(_Request):
    """One item: product, quantity and unit (quantity > 0 is checked by the order rules)."""

    product_number: Text
    quantity: Decimal
    unit: Text


class OrderBody(_Request):
    """`POST /orders`; company, customer_account and ship_to_country are for administrators."""

    requested_receipt_date: date
    delivery_address: DeliveryAddressBody
    requisition_number: Annotated[str, StringConstraints(max_length=60)] | None = None
    company: Text | None = None
    customer_account: Text | None = None
    ship_to_country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    lines: list[OrderLineBody] = Field(max_length=MAX_LINES)


class OrderAccepted(BaseModel):
    """A submitted order, accepted for processing."""

    order_id: UUID
    status: Literal["pending"] = "pending"
    command_id: UUID


class CommandStatus(BaseModel):
    """`GET /commands/{command_id}`: where a command stands."""

    command_id: UUID
    status: Literal["pending", "accepted", "rejected"]
    errors: list[dict[str, str]] = Field(default_factory=list)
