"""Event stream ids: one stream per aggregate, named `{type}-{id}` (`stream_type` = the prefix).

| stream id | stream type | events |
| --- | --- | --- |
| `contact-{contact_id}` | contact | ContactUpserted; CommandRejected of UpsertContact |
| `invitation-{invitation_id}` | invitation | InvitationIssued, InvitationRedeemed; rejections |
| `credential-{credential_id}` | credential | CredentialRevoked; rejected RevokeCredentials |
| `order-{order_id}` | order | OrderSubmitted, OrderSyncStatusChanged; rejected SubmitOrders |
| `account-{company}-{account_number}` | account | CustomerAccountUpserted |
| `product-{company}-{product_number}` | product | ProductUpserted |
| `pricelist-{company}-{price_list}-{product_number}-{unit}` | pricelist | PriceListPriceUpserted |

Natural keys keep their case (SCM keys such as `US-001` are case-sensitive); the company is
already lower case. One stream per price (not per price list) so that two price changes of one
list never conflict with each other.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

__all__ = [
    "ACCOUNT",
    "CONTACT",
    "CREDENTIAL",
    "INVITATION",
    "ORDER",
    "PRICELIST",
    "PRODUCT",
    "account_stream",
    "aggregate_id",
    "contact_stream",
    "credential_stream",
    "invitation_stream",
    "order_stream",
    "price_stream",
    "product_stream",
    "stream_type",
]

CONTACT: Final = "contact"
INVITATION: Final = "invitation"
CREDENTIAL: Final = "credential"
ORDER: Final = "order"
ACCOUNT: Final = "account"
PRODUCT: Final = "product"
PRICELIST: Final = "pricelist"


def contact_stream(contact_id: UUID) -> str:
    """The stream of one contact."""
    return f"{CONTACT}-{contact_id}"


def invitation_stream(invitation_id: UUID) -> str:
    """The stream of one invitation and its redemptions."""
    return f"{INVITATION}-{invitation_id}"


def credential_stream(credential_id: UUID) -> str:
    """The stream of one credential's later life (its birth is in its invitation's stream)."""
    return f"{CREDENTIAL}-{credential_id}"


def order_stream(order_id: UUID) -> str:
    """The stream of one sales order."""
    return f"{ORDER}-{order_id}"


def account_stream(company: str, account_number: str) -> str:
    """The stream of one customer account."""
    return f"{ACCOUNT}-{company}-{account_number}"


def product_stream(company: str, product_number: str) -> str:
    """The stream of one released product."""
    return f"{PRODUCT}-{company}-{product_number}"


def price_stream(company: str, price_list: str, product_number: str, unit: str) -> str:
    """The stream of one price-list price (a product in a unit on a price list)."""
    return f"{PRICELIST}-{company}-{price_list}-{product_number}-{unit}"


def stream_type(stream_id: str) -> str:
    """The type part of a stream id: `order-...` -> `order`."""
    return stream_id.split("-", 1)[0]


def aggregate_id(stream_id: str) -> str:
    """The id part of a stream id: `order-1f...` -> `1f...`."""
    return stream_id.split("-", 1)[1]
