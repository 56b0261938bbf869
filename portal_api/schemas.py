"""The API's JSON bodies, with the names of SPEC §7; requests refuse unknown fields.

Request text and numbers have the contracts' bounds (contracts.bounds), so that whatever the
API accepts, the command processor can store.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.bounds import (
    EMAIL_MAX,
    SINGLE_LINE_PATTERN,
    Code,
    IsoDate,
    Name,
    Quantity,
    Street,
)
from contracts.values import InvitationKind, WebRole

__all__ = [
    "CURSOR_PATTERN",
    "EMAIL_PATTERN",
    "EMAIL_SEARCH_MIN",
    "MAX_LINES",
    "PATTERN_MESSAGES",
    "CommandPending",
    "CommandStatus",
    "ContactBody",
    "ContactSearch",
    "ContactView",
    "CredentialView",
    "DeliveryAddressBody",
    "InvitationCreated",
    "InvitationPending",
    "InviteBody",
    "OrderAccepted",
    "OrderBody",
    "OrderLineBody",
    "ProductView",
    "RedeemBody",
    "Redeemed",
    "RedemptionPending",
    "RevocationPending",
    "UnitPrice",
]

# A request names things with visible text: surrounding spaces go, an empty value is refused.
_GIVEN = StringConstraints(strip_whitespace=True, min_length=1)
CodeText = Annotated[Code, _GIVEN]
NameText = Annotated[Name, _GIVEN]
StreetText = Annotated[Street, _GIVEN]
MAX_LINES = 200
# Deliberately loose: the portal only needs an address to find a contact by, not RFC 5322; but
# never a space or a control character (NUL), which no lookup could use and no column store.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=EMAIL_MAX, pattern=EMAIL_PATTERN
    ),
]
# Page cursors are URL-safe base64 without padding: anything else was never given out.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
PATTERN_MESSAGES = {
    CURSOR_PATTERN: "must be a next_cursor that this API gave out",
    CURRENCY_PATTERN: "must be an ISO 4217 currency code: three capital letters, e.g. USD",
    COUNTRY_PATTERN: "must be an ISO 3166 country code: two capital letters, e.g. US",
    EMAIL_PATTERN: "must be an e-mail address (name@example.com) without spaces or control "
    "characters",
}
"""What the API's own patterns ask for, in words (see contracts.bounds.readable_message)."""


class _Request(BaseModel):
    # A misspelt field must not be ignored silently: it is refused and named.
    model_config = ConfigDict(extra="forbid")


class ContactBody(_Request):
    """`PUT /admin/contacts/{contact_id}`: the whole contact record."""

    firstname: NameText | None = None
    lastname: NameText
    email: Email
    company: CodeText | None = None
    account_number: CodeText | None = None
    price_list: CodeText | None = None
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)] | None = None
    ship_to_country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)] | None = None
    language: CodeText | None = None
    web_roles: list[WebRole] = Field(default_factory=list, max_length=3)


EMAIL_SEARCH_MIN = 3
"""The shortest text `GET /admin/contacts?email=` looks for."""


class ContactSearch(_Request):
    """`GET /admin/contacts?email=` as a model: the portal's find page checks it the same way."""

    email: Annotated[
        str,
        StringConstraints(
            min_length=EMAIL_SEARCH_MIN, max_length=EMAIL_MAX, pattern=SINGLE_LINE_PATTERN
        ),
    ]


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
    # strict: JSON true is not the number 1.
    max_redemptions: Annotated[int, Field(ge=1, le=10_000, strict=True)] | None = None
    expires_in_days: Annotated[int, Field(ge=1, le=365, strict=True)] | None = None


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

    code: CodeText


class Redeemed(BaseModel):
    """The credential for `Authorization: Bearer`, shown once; only its hash is stored."""

    credential: str
    credential_id: UUID
    """What an administrator's list of the contact's credentials names it by."""
    expires_at: datetime
    contact_id: UUID
    web_roles: list[str]


class CredentialView(BaseModel):
    """One of a contact's credentials as administrators see it: never the secret nor its hash."""

    credential_id: UUID
    contact_id: UUID
    invitation_id: UUID = Field(description="the invitation whose redemption minted it")
    status: Literal["active", "expired", "revoked"]
    created_at: datetime | None = Field(description="when it was minted (unknown: null)")
    expires_at: datetime | None = Field(description="null: it never expires (minted before)")
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="`admin` or the revoking contact's id")


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

    street: StreetText
    city: NameText
    postal_code: CodeText


class OrderLineBody(_Request):
    """One item: product, quantity and unit (quantity > 0 is checked by the order rules)."""

    product_number: CodeText
    quantity: Quantity
    unit: CodeText


class OrderBody(_Request):
    """`POST /orders`; company, customer_account and ship_to_country are for administrators."""

    requested_receipt_date: IsoDate
    delivery_address: DeliveryAddressBody
    requisition_number: Annotated[Code, Field(max_length=60)] | None = None
    company: CodeText | None = None
    customer_account: CodeText | None = None
    ship_to_country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)] | None = None
    lines: list[OrderLineBody] = Field(max_length=MAX_LINES)


class OrderAccepted(BaseModel):
    """A submitted order, accepted for processing."""

    order_id: UUID
    status: Literal["pending"] = "pending"
    command_id: UUID


class CommandPending(BaseModel):
    """202: the command is on Kafka, its outcome not known yet; ask `status_url` for it."""

    command_id: UUID
    status: Literal["pending"]
    status_url: str


class InvitationPending(CommandPending):
    """202 to an invitation: the code is shown now or never, and works once accepted."""

    invitation: InvitationCreated


class RedemptionPending(CommandPending):
    """202 to a redemption: the credential works once the command is accepted."""

    credential: str
    credential_id: UUID
    expires_at: datetime
    contact_id: UUID


class RevocationPending(CommandPending):
    """202 to a revocation: the credential stops working once the command is accepted."""


class CommandStatus(BaseModel):
    """`GET /commands/{command_id}`: where a command stands."""

    command_id: UUID
    status: Literal["pending", "accepted", "rejected"]
    errors: list[dict[str, str]] = Field(default_factory=list)
