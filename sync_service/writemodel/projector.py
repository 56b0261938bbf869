"""How each event changes the write model; the one code path of both live writes and rebuild.

The command processor calls `apply_event` for each event it is about to append, in the
append's transaction; `rebuild` calls it for every stored event. So the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal
from uuid import UUID

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cds import Account, Contact, Product, ProductPriceLevel
from contracts.errors import FieldError
from sync_service.db.schema import (
    command_outcomes,
    contacts,
    credentials,
    customer_accounts,
    invitations,
    price_list_prices,
    products,
)
from sync_service.domain.credentials import credential_id
from sync_service.eventstore import NewEvent
from sync_service.streams import aggregate_id

__all__ = [
    "ACCEPTED_COMMAND_OF",
    "apply_event",
    "contact_row",
    "outcome_row",
    "record_outcome",
    "record_outcomes",
]

ACCEPTED_COMMAND_OF: Final = {
    "ContactUpserted": "UpsertContact",
    "InvitationIssued": "InviteContact",
    "InvitationRedeemed": "RedeemInvitation",
    "CredentialRevoked": "RevokeCredential",
    "OrderSubmitted": "SubmitOrder",
}
"""The command whose acceptance each event records (its causation id is the command's id)."""

_Apply = Callable[[AsyncConnection, str, int, NewEvent], Awaitable[None]]


async def apply_event(
    connection: AsyncConnection, stream_id: str, version: int, event: NewEvent
) -> None:
    """Bring the write model up to date with `event`, the `version`th of `stream_id`."""
    apply = _APPLY.get(event.event_type)
    if apply is not None:
        await apply(connection, stream_id, version, event)


async def record_outcome(
    connection: AsyncConnection,
    *,
    command_id: UUID,
    command_type: str,
    status: Literal["accepted", "rejected"],
    errors: Sequence[FieldError] = (),
    stream_id: str | None = None,
    recorded_at: datetime | None = None,
) -> None:
    """Record what became of a command; a second outcome for one command is ignored."""
    row = outcome_row(
        command_id=command_id,
        command_type=command_type,
        status=status,
        errors=errors,
        stream_id=stream_id,
        recorded_at=recorded_at,
    )
    await record_outcomes(connection, [row])


def outcome_row(
    *,
    command_id: UUID,
    command_type: str,
    status: Literal["accepted", "rejected"],
    errors: Sequence[FieldError] = (),
    stream_id: str | None = None,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """The command_outcomes row of one command, for `record_outcomes`."""
    return {
        "command_id": command_id,
        "command_type": command_type,
        "status": status,
        "errors": [error.model_dump() for error in errors],
        "stream_id": stream_id,
        "aggregate_id": aggregate_id(stream_id) if stream_id else None,
        # None: now(), the transaction's start, the instant the append stamps on its events.
        _GIVEN_RECORDED_AT: recorded_at,
    }


_GIVEN_RECORDED_AT: Final = "given_recorded_at"
# One statement for any number of rows: executed with a list of rows, SQLAlchemy compiles it
# once and batches the rows itself (insertmanyvalues), where a multi-row VALUES would be
# compiled again for every new batch size.
_RECORD_OUTCOMES: Final = (
    insert(command_outcomes)
    .values(
        recorded_at=func.coalesce(
            bindparam(_GIVEN_RECORDED_AT, type_=command_outcomes.c.recorded_at.type), func.now()
        )
    )
    .on_conflict_do_nothing()
)


async def record_outcomes(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record many commands' outcomes in one statement; a second outcome of one is ignored."""
    if rows:
        await connection.execute(_RECORD_OUTCOMES, list(rows))


def contact_row(contact: Contact, version: int) -> dict[str, Any]:
    """The `contacts` row's columns (but its key) for `contact` at stream `version`."""
    return {
        "contact_person_id": contact.contact_person_id,
        "firstname": contact.first_name,
        "lastname": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "company": contact.company,
        "account_number": contact.account_number,
        "price_list": contact.price_list,
        "currency": contact.currency,
        "ship_to_country": contact.ship_to_country,
        "language": contact.language,
        "web_roles": list(contact.web_roles),
        "version": version,
    }


async def _contact_upserted(
    connection: AsyncConnection, _stream_id: str, version: int, event: NewEvent
) -> None:
    contact = Contact.model_validate(event.payload["contact"])
    values = contact_row(contact, version)
    statement = insert(contacts).values(contact_id=contact.contact_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=[contacts.c.contact_id], set_=values)
    )


async def _upsert(
    connection: AsyncConnection, table: Any, keys: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    statement = insert(table).values(**keys, **values)
    index = [table.c[name] for name in keys]
    await connection.execute(statement.on_conflict_do_update(index_elements=index, set_=values))


async def _account_upserted(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    account = Account.model_validate(event.payload["account"])
    keys = {"company": account.company or event.company, "account_number": account.account_number}
    values = {
        "name": account.name,
        "price_list": account.price_list,
        "currency": account.currency,
        "language": account.language,
        "record": dict(event.payload["account"]),
    }
    await _upsert(connection, customer_accounts, keys, values)


async def _product_upserted(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    product = Product.model_validate(event.payload["product"])
    keys = {"company": product.company or event.company, "product_number": product.product_number}
    record = dict(event.payload["product"])
    values = {
        "name": product.name,
        "default_unit": product.default_unit,
        "units": record.get("msdyn_units", []),
        "list_price": product.price,
        "record": record,
    }
    await _upsert(connection, products, keys, values)


async def _price_upserted(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    price = ProductPriceLevel.model_validate(event.payload["price"])
    keys = {
        "company": price.company or event.company,
        "price_list": price.price_list,
        "product_number": price.product_number,
        "unit": price.unit,
    }
    await _upsert(
        connection, price_list_prices, keys, {"amount": price.amount, "currency": price.currency}
    )


async def _invitation_issued(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    payload = event.payload
    await connection.execute(
        insert(invitations).values(
            invitation_id=UUID(payload["invitation_id"]),
            code_hash=payload["code_hash"],
            contact_id=UUID(payload["contact_id"]),
            kind=payload["kind"],
            max_redemptions=payload["max_redemptions"],
            redemptions=0,
            expires_at=datetime.fromisoformat(payload["expires_at"]),
        )
    )


async def _invitation_redeemed(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    payload = event.payload
    invitation_id = UUID(payload["invitation_id"])
    await connection.execute(
        update(invitations)
        .where(invitations.c.invitation_id == invitation_id)
        .values(redemptions=payload["redemption"])
    )
    expires_at = payload.get("expires_at")
    await connection.execute(
        insert(credentials).values(
            credential_hash=payload["credential_hash"],
            credential_id=credential_id(payload["credential_hash"]),
            contact_id=UUID(payload["contact_id"]),
            invitation_id=invitation_id,
            created_at=event.occurred_at,
            expires_at=None if expires_at is None else datetime.fromisoformat(expires_at),
        )
    )


async def _credential_revoked(
    connection: AsyncConnection, _stream_id: str, _version: int, event: NewEvent
) -> None:
    payload = event.payload
    await connection.execute(
        update(credentials)
        .where(credentials.c.credential_id == UUID(payload["credential_id"]))
        .values(revoked_at=event.occurred_at, revoked_by=payload["revoked_by"])
    )


_APPLY: Final[Mapping[str, _Apply]] = {
    "ContactUpserted": _contact_upserted,
    "CustomerAccountUpserted": _account_upserted,
    "ProductUpserted": _product_upserted,
    "PriceListPriceUpserted": _price_upserted,
    "InvitationIssued": _invitation_issued,
    "InvitationRedeemed": _invitation_redeemed,
    "CredentialRevoked": _credential_revoked,
}
