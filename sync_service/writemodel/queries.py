"""Reads of the write model on a given connection: inside the command processor's transaction,
or on a fresh connection for the API (writemodel.postgres)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BindParameter, RowMapping, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cds import Account, Contact, Product
from contracts.errors import FieldError
from sync_service.db.schema import (
    command_issuers,
    command_outcomes,
    contacts,
    credentials,
    customer_accounts,
    invitations,
    price_list_prices,
    products,
)
from sync_service.domain.catalog import Catalog, sales_units
from sync_service.domain.credentials import CredentialState
from sync_service.domain.invitations import InvitationState, invitation_status
from sync_service.domain.roles import BOOTSTRAP_ACTOR, Caller
from sync_service.writemodel.base import (
    CommandOutcome,
    CredentialHolder,
    ListedInvitation,
    ProductOffer,
)

__all__ = [
    "all_customer_accounts",
    "caller_for_actor",
    "caller_for_credential",
    "catalog",
    "command_issued",
    "command_outcome",
    "contact",
    "contact_list",
    "contacts_by_email",
    "contacts_of_account",
    "credential",
    "credential_holder",
    "credentials_of",
    "customer_account",
    "invitation",
    "invitation_by_code_hash",
    "invitation_list",
    "products_for",
]


def _contact(row: RowMapping) -> Contact:
    return Contact(
        contact_id=row["contact_id"],
        contact_person_id=row["contact_person_id"],
        first_name=row["firstname"],
        last_name=row["lastname"],
        email=row["email"],
        phone=row["phone"],
        company=row["company"],
        account_number=row["account_number"],
        price_list=row["price_list"],
        currency=row["currency"],
        ship_to_country=row["ship_to_country"],
        language=row["language"],
        web_roles=row["web_roles"],
    )


def _invitation(row: RowMapping) -> InvitationState:
    return InvitationState(
        invitation_id=row["invitation_id"],
        contact_id=row["contact_id"],
        kind=row["kind"],
        max_redemptions=row["max_redemptions"],
        redemptions=row["redemptions"],
        expires_at=row["expires_at"],
    )


async def contact(connection: AsyncConnection, contact_id: UUID) -> Contact | None:
    """The contact record, if there is one."""
    query = select(contacts).where(contacts.c.contact_id == contact_id)
    row = (await connection.execute(query)).mappings().first()
    return None if row is None else _contact(row)


async def contacts_by_email(connection: AsyncConnection, email: str) -> list[Contact]:
    """Contacts with this email, compared case-insensitively (uses ix_contacts_lower_email)."""
    query = (
        select(contacts)
        .where(func.lower(contacts.c.email) == email.strip().lower())
        .order_by(contacts.c.contact_id)
    )
    return [_contact(row) for row in (await connection.execute(query)).mappings()]


async def contact_list(
    connection: AsyncConnection, *, limit: int, offset: int = 0
) -> list[Contact]:
    """Every contact by last name, first name and id: `limit` of them from `offset` on."""
    query = (
        select(contacts)
        .order_by(contacts.c.lastname, contacts.c.firstname, contacts.c.contact_id)
        .limit(limit)
        .offset(offset)
    )
    return [_contact(row) for row in (await connection.execute(query)).mappings()]


async def contacts_of_account(
    connection: AsyncConnection, company: str, account_number: str
) -> list[Contact]:
    """The contacts of one customer account."""
    query = (
        select(contacts)
        .where(contacts.c.company == company, contacts.c.account_number == account_number)
        .order_by(contacts.c.lastname, contacts.c.firstname, contacts.c.contact_id)
    )
    return [_contact(row) for row in (await connection.execute(query)).mappings()]


async def caller_for_actor(connection: AsyncConnection, actor: str) -> Caller:
    """The caller behind a command's `issued_by`, with the roles its contact has now."""
    if actor == BOOTSTRAP_ACTOR:
        return Caller.bootstrap_admin()
    try:
        contact_id = UUID(actor)
    except ValueError:
        return Caller.anonymous()
    query = select(contacts.c.web_roles).where(contacts.c.contact_id == contact_id)
    roles = await connection.scalar(query)
    return Caller.contact(contact_id, list(roles or []))


async def caller_for_credential(connection: AsyncConnection, credential_hash: str) -> Caller | None:
    """The contact a credential belongs to, with its current roles; None if it is unknown."""
    query = (
        select(credentials.c.contact_id, contacts.c.web_roles)
        .select_from(
            credentials.outerjoin(contacts, credentials.c.contact_id == contacts.c.contact_id)
        )
        .where(credentials.c.credential_hash == credential_hash)
    )
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    return Caller.contact(row.contact_id, list(row.web_roles or []))


def _credential(row: RowMapping) -> CredentialState:
    return CredentialState(
        credential_id=row["credential_id"],
        contact_id=row["contact_id"],
        invitation_id=row["invitation_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
    )


# Every column but the hash: what leaves this module never carries it.
_CREDENTIAL_COLUMNS = [c for c in credentials.c if c.name != "credential_hash"]


async def credential_holder(
    connection: AsyncConnection, credential_hash: str
) -> CredentialHolder | None:
    """The credential with this hash and its contact (roles as of now); None if unknown."""
    query = (
        select(*_CREDENTIAL_COLUMNS, contacts.c.web_roles)
        .select_from(
            credentials.outerjoin(contacts, credentials.c.contact_id == contacts.c.contact_id)
        )
        .where(credentials.c.credential_hash == credential_hash)
    )
    row = (await connection.execute(query)).mappings().first()
    if row is None:
        return None
    caller = Caller.contact(row["contact_id"], list(row["web_roles"] or []))
    return CredentialHolder(caller=caller, credential=_credential(row))


async def credential(connection: AsyncConnection, credential_id: UUID) -> CredentialState | None:
    """The credential with this id, if any."""
    query = select(*_CREDENTIAL_COLUMNS).where(credentials.c.credential_id == credential_id)
    row = (await connection.execute(query)).mappings().first()
    return None if row is None else _credential(row)


async def credentials_of(connection: AsyncConnection, contact_id: UUID) -> list[CredentialState]:
    """The contact's credentials, revoked and expired ones too, newest first."""
    query = (
        select(*_CREDENTIAL_COLUMNS)
        .where(credentials.c.contact_id == contact_id)
        .order_by(credentials.c.created_at.desc().nulls_last(), credentials.c.credential_id)
    )
    return [_credential(row) for row in (await connection.execute(query)).mappings()]


async def invitation(connection: AsyncConnection, invitation_id: UUID) -> InvitationState | None:
    """The invitation with this id, if any."""
    query = select(invitations).where(invitations.c.invitation_id == invitation_id)
    row = (await connection.execute(query)).mappings().first()
    return None if row is None else _invitation(row)


async def invitation_by_code_hash(
    connection: AsyncConnection, code_hash: str
) -> InvitationState | None:
    """The invitation issued with this code, if any."""
    query = select(invitations).where(invitations.c.code_hash == code_hash)
    row = (await connection.execute(query)).mappings().first()
    return None if row is None else _invitation(row)


async def invitation_list(
    connection: AsyncConnection,
    now: datetime,
    *,
    limit: int,
    offset: int = 0,
    contact_id: UUID | None = None,
) -> list[ListedInvitation]:
    """Invitations (of one contact, if given), latest expiry first, with their status at `now`."""
    query = (
        select(invitations, contacts.c.firstname, contacts.c.lastname, contacts.c.email)
        .select_from(
            invitations.outerjoin(contacts, invitations.c.contact_id == contacts.c.contact_id)
        )
        .order_by(invitations.c.expires_at.desc(), invitations.c.invitation_id)
        .limit(limit)
        .offset(offset)
    )
    if contact_id is not None:
        query = query.where(invitations.c.contact_id == contact_id)
    listed = []
    for row in (await connection.execute(query)).mappings():
        state = _invitation(row)
        name = " ".join(part for part in (row["firstname"], row["lastname"]) if part)
        listed.append(
            ListedInvitation(
                invitation=state,
                status=invitation_status(state, now),
                contact_name=name or None,
                contact_email=row["email"],
            )
        )
    return listed


async def customer_account(
    connection: AsyncConnection, company: str, account_number: str
) -> Account | None:
    """The customer account record, if there is one."""
    record = await connection.scalar(
        _CUSTOMER_ACCOUNT, {"company": company, "account_number": account_number}
    )
    return None if record is None else Account.model_validate(record)


async def all_customer_accounts(connection: AsyncConnection) -> list[Account]:
    """Every customer account, ordered by company and account number."""
    query = select(customer_accounts.c.record).order_by(
        customer_accounts.c.company, customer_accounts.c.account_number
    )
    return [Account.model_validate(record) for record in await connection.scalars(query)]


# Built once: every order check runs these, and building a statement costs more than running it.
_CUSTOMER_ACCOUNT = select(customer_accounts.c.record).where(
    customer_accounts.c.company == bindparam("company"),
    customer_accounts.c.account_number == bindparam("account_number"),
)
_PRODUCTS = select(products.c.record).where(products.c.company == bindparam("company"))
_PRICES = select(price_list_prices).where(price_list_prices.c.company == bindparam("company"))
_NUMBERS: BindParameter[list[str]] = bindparam("numbers", expanding=True)
_SOME_PRODUCTS = _PRODUCTS.where(products.c.product_number.in_(_NUMBERS))
_SOME_PRICES = _PRICES.where(price_list_prices.c.product_number.in_(_NUMBERS))


async def catalog(
    connection: AsyncConnection, company: str, product_numbers: list[str] | None = None
) -> Catalog:
    """The company's products (all, or the given ones) and all their price-list prices."""
    if product_numbers is None:
        product_query, price_query = _PRODUCTS, _PRICES
        parameters: dict[str, object] = {"company": company}
    else:
        product_query, price_query = _SOME_PRODUCTS, _SOME_PRICES
        parameters = {"company": company, "numbers": list(product_numbers)}
    found = [Product.model_validate(r) for r in await connection.scalars(product_query, parameters)]
    prices = {
        (row.price_list, row.product_number, row.unit): Decimal(row.amount)
        for row in await connection.execute(price_query, parameters)
    }
    return Catalog(products={p.product_number: p for p in found if p.product_number}, prices=prices)


async def products_for(
    connection: AsyncConnection, company: str, price_list: str | None
) -> list[ProductOffer]:
    """The company's products with units, and each unit's price for `price_list`."""
    offered = await catalog(connection, company)
    offers = []
    for number in sorted(offered.products):
        product = offered.products[number]
        units = sales_units(product)
        prices: dict[str, Decimal] = {}
        for unit in units:
            price = offered.unit_price(price_list, number, unit) if price_list else None
            if price is None and not price_list and product.price is not None:
                price = product.price * units[unit]
            if price is not None:
                prices[unit] = price
        offers.append(
            ProductOffer(
                product_number=number,
                name=product.name,
                default_unit=product.default_unit,
                units=units,
                prices=prices,
            )
        )
    return offers


async def command_outcome(connection: AsyncConnection, command_id: UUID) -> CommandOutcome | None:
    """The command's outcome, once the processor has recorded it."""
    query = select(command_outcomes).where(command_outcomes.c.command_id == command_id)
    row = (await connection.execute(query)).mappings().first()
    if row is None:
        return None
    return CommandOutcome(
        command_id=row["command_id"],
        command_type=row["command_type"],
        status=row["status"],
        errors=[FieldError.model_validate(error) for error in row["errors"]],
        stream_id=row["stream_id"],
        aggregate_id=row["aggregate_id"],
        recorded_at=row["recorded_at"],
    )


async def command_issued(connection: AsyncConnection, command_id: UUID) -> bool:
    """Whether the API recorded an issuer for this command id (it does before publishing)."""
    query = select(command_issuers.c.command_id).where(command_issuers.c.command_id == command_id)
    return await connection.scalar(query) is not None
