"""What the API reads from the write model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sync_service.command_processor import CommandProcessor, Handled
from sync_service.demo_data import (
    ADMIN_CONTACT_ID,
    JANE_CONTACT_ID,
    MAY_CONTACT_ID,
    REP_CONTACT_ID,
    SAM_CONTACT_ID,
)
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.domain.invitations import InvitationStatus
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.writemodel import IdempotencyKeyReused
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.sync_service.factories import invite, redeem, wire

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("demo")
async def test_contacts_are_found_by_email_case_insensitively(
    reader: PostgresWriteModelReader,
) -> None:
    found = await reader.contacts_by_email("  Jane@X.Example ")
    assert [contact.contact_id for contact in found] == [JANE_CONTACT_ID]
    jane = await reader.contact(JANE_CONTACT_ID)
    assert jane is not None and jane.web_roles == ["authorized_user"]
    assert (jane.company, jane.account_number, jane.price_list) == ("usmf", "US-001", "PL-US-001")
    assert await reader.contacts_by_email("nobody@x.example") == []


@pytest.mark.usefixtures("demo")
async def test_the_contacts_of_customer_x(reader: PostgresWriteModelReader) -> None:
    contacts = await reader.contacts_of_account("usmf", "US-001")
    ids = {contact.contact_id for contact in contacts}
    assert ids == {REP_CONTACT_ID, JANE_CONTACT_ID, SAM_CONTACT_ID}
    assert MAY_CONTACT_ID not in ids


@pytest.mark.usefixtures("demo")
async def test_products_carry_units_and_the_callers_price_list_prices(
    reader: PostgresWriteModelReader,
) -> None:
    offers = {
        offer.product_number: offer for offer in await reader.products_for("usmf", "PL-US-001")
    }
    assert sorted(offers) == ["P-1000", "P-1001", "P-1002", "P-1003", "P-1004", "P-1005"]
    assert offers["P-1000"].units == {"ea": Decimal(1), "box": Decimal(12)}
    assert offers["P-1000"].prices == {"ea": Decimal("9.00"), "box": Decimal("100.00")}
    assert offers["P-1003"].prices == {"ea": Decimal("7.50")}
    assert offers["P-1005"].prices == {"ea": Decimal("3.00"), "box": Decimal("36.00")}  # list
    y = {offer.product_number: offer for offer in await reader.products_for("usmf", "PL-US-002")}
    assert y["P-1000"].prices["ea"] == Decimal("9.50")
    account = await reader.customer_account("usmf", "US-002")
    assert account is not None and (account.name, account.price_list) == (
        "Fabrikam Supply",
        "PL-US-002",
    )


@pytest.mark.usefixtures("demo")
async def test_every_customer_account_is_listed_by_company_and_number(
    reader: PostgresWriteModelReader,
) -> None:
    accounts = await reader.customer_accounts()
    assert [(a.company, a.account_number, a.name, a.price_list) for a in accounts] == [
        ("usmf", "US-001", "Contoso Retail", "PL-US-001"),
        ("usmf", "US-002", "Fabrikam Supply", "PL-US-002"),
    ]


async def test_no_customer_account_before_any_is_synced(reader: PostgresWriteModelReader) -> None:
    assert await reader.customer_accounts() == []


async def test_an_idempotency_key_returns_the_first_order_or_refuses_another_request(
    reader: PostgresWriteModelReader, processor: CommandProcessor, demo: PostgresEventStore
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await reader.claim_idempotency_key("jane", "k-1", "fp-a", first) is None
    assert await reader.claim_idempotency_key("jane", "k-1", "fp-a", second) == first
    assert await reader.claim_idempotency_key("sam", "k-1", "fp-b", second) is None
    with pytest.raises(IdempotencyKeyReused) as refused:
        await reader.claim_idempotency_key("jane", "k-1", "fp-b", second)
    assert refused.value.order_id == first


async def test_concurrent_claims_of_one_key_agree_on_one_order(
    reader: PostgresWriteModelReader, demo: PostgresEventStore
) -> None:
    import asyncio

    orders = [uuid.uuid4() for _ in range(6)]
    results = await asyncio.gather(
        *(reader.claim_idempotency_key("jane", "k-race", "fp", order) for order in orders)
    )
    winners = [order for order, result in zip(orders, results, strict=True) if result is None]
    assert len(winners) == 1
    assert {result for result in results if result is not None} == {winners[0]}


async def test_an_unknown_credential_is_no_caller(reader: PostgresWriteModelReader) -> None:
    assert await reader.caller_for_credential("0" * 64) is None


@pytest.mark.usefixtures("demo")
async def test_every_contact_is_listed_by_name_a_page_at_a_time(
    reader: PostgresWriteModelReader,
) -> None:
    everyone = await reader.contacts(limit=50)
    # Last name, then first name: the two Contosos by first name.
    names = [(contact.last_name, contact.first_name) for contact in everyone]
    assert names == [
        ("Administrator", "Portal"),
        ("Contoso", "Jane"),
        ("Contoso", "Sam"),
        ("Fabrikam", "May"),
        ("Representative", "Contoso"),
    ]
    assert [c.contact_id for c in everyone][:2] == [ADMIN_CONTACT_ID, JANE_CONTACT_ID]
    first, second = await reader.contacts(limit=2), await reader.contacts(limit=2, offset=2)
    third = await reader.contacts(limit=2, offset=4)
    assert first + second + third == everyone
    assert [c.contact_id for c in third] == [REP_CONTACT_ID]
    assert await reader.contacts(limit=2, offset=6) == []


async def test_invitations_are_listed_with_whom_they_invite_and_their_status(
    reader: PostgresWriteModelReader, processor: CommandProcessor
) -> None:
    now = datetime.now(UTC)
    janes, sams, janes_short = (hash_secret(new_secret()) for _ in range(3))
    invitations = (
        invite(JANE_CONTACT_ID, janes, expires_at=now + timedelta(days=7)),
        invite(SAM_CONTACT_ID, sams, expires_at=now + timedelta(days=6)),
        invite(JANE_CONTACT_ID, janes_short, expires_at=now + timedelta(days=1)),
    )
    for command in invitations:
        assert await processor.handle(wire(command)) is Handled.ACCEPTED
    redeemed = await processor.handle(wire(redeem(SAM_CONTACT_ID, sams, "c" * 64)))
    assert redeemed is Handled.ACCEPTED
    listed = await reader.invitations(now, limit=10)
    assert [item.invitation.invitation_id for item in listed] == [
        command.invitation_id for command in invitations
    ]
    assert [item.status for item in listed] == [
        InvitationStatus.OPEN,
        InvitationStatus.REDEEMED,
        InvitationStatus.OPEN,
    ]
    assert (listed[1].contact_name, listed[1].contact_email) == ("Sam Contoso", "sam@x.example")
    # Two days on, the one-day code has expired; the status is read at the time given.
    later = await reader.invitations(now + timedelta(days=2), limit=10)
    assert [item.status for item in later][2] is InvitationStatus.EXPIRED
    janes_only = await reader.invitations(now, limit=10, contact_id=JANE_CONTACT_ID)
    assert [item.invitation.contact_id for item in janes_only] == [JANE_CONTACT_ID] * 2
    assert await reader.invitations(now, limit=1, offset=1) == listed[1:2]
