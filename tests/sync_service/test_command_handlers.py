"""Invitations, redemptions and role changes as the processor decides them on current state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.commands import RevokeCredential
from sync_service.command_processor import CommandProcessor, Handled
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.domain.credentials import credential_id, hash_secret, new_secret
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.sync_service.factories import invite, redeem, submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration


async def _fields(reader: PostgresWriteModelReader, command_id: uuid.UUID) -> list[str]:
    outcome = await reader.command_outcome(command_id)
    assert outcome is not None
    return [error.field for error in outcome.errors]


async def test_an_invited_contact_redeems_once_and_then_is_a_caller(
    processor: CommandProcessor, reader: PostgresWriteModelReader, demo: PostgresEventStore
) -> None:
    code = new_secret()
    invitation = invite(JANE_CONTACT_ID, hash_secret(code))
    assert await processor.handle(wire(invitation)) is Handled.ACCEPTED
    stored = await reader.invitation_by_code_hash(hash_secret(code))
    assert stored is not None and (stored.kind, stored.redemptions) == ("single", 0)

    credential = new_secret()
    redemption = redeem(JANE_CONTACT_ID, hash_secret(code), hash_secret(credential))
    assert await processor.handle(wire(redemption)) is Handled.ACCEPTED

    caller = await reader.caller_for_credential(hash_secret(credential))
    assert caller is not None and caller.contact_id == JANE_CONTACT_ID
    assert caller.web_roles == {"authorized_user"}
    again = redeem(JANE_CONTACT_ID, hash_secret(code), hash_secret(new_secret()))
    assert await processor.handle(wire(again)) is Handled.REJECTED
    assert await _fields(reader, again.command_id) == ["code"]
    outcome = await reader.command_outcome(again.command_id)
    assert outcome is not None and "redeemed as often" in outcome.errors[0].message
    events = await demo.read_stream(f"invitation-{invitation.invitation_id}")
    assert [e.event_type for e in events] == [
        "InvitationIssued",
        "InvitationRedeemed",
        "CommandRejected",
    ]


async def test_a_group_invitation_stops_at_its_maximum(
    processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    code_hash = hash_secret(new_secret())
    group = invite(SAM_CONTACT_ID, code_hash, kind="group", max_redemptions=2)
    assert await processor.handle(wire(group)) is Handled.ACCEPTED
    results = [
        await processor.handle(wire(redeem(SAM_CONTACT_ID, code_hash, hash_secret(new_secret()))))
        for _ in range(3)
    ]
    assert results == [Handled.ACCEPTED, Handled.ACCEPTED, Handled.REJECTED]
    stored = await reader.invitation_by_code_hash(code_hash)
    assert stored is not None and stored.redemptions == 2


async def test_unknown_expired_and_foreign_codes_are_refused(
    processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    unknown = redeem(JANE_CONTACT_ID, hash_secret("nobody's"), hash_secret(new_secret()))
    assert await processor.handle(wire(unknown)) is Handled.REJECTED
    outcome = await reader.command_outcome(unknown.command_id)
    assert outcome is not None and outcome.errors[0].message == "no invitation has this code"
    assert outcome.stream_id == f"contact-{JANE_CONTACT_ID}"

    expired_code = hash_secret(new_secret())
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert await processor.handle(wire(invite(JANE_CONTACT_ID, expired_code, expires_at=past)))
    expired = redeem(JANE_CONTACT_ID, expired_code, hash_secret(new_secret()))
    assert await processor.handle(wire(expired)) is Handled.REJECTED
    outcome = await reader.command_outcome(expired.command_id)
    assert outcome is not None and outcome.errors[0].message == "the invitation has expired"

    janes = hash_secret(new_secret())
    await processor.handle(wire(invite(JANE_CONTACT_ID, janes)))
    foreign = redeem(SAM_CONTACT_ID, janes, hash_secret(new_secret()))
    assert await processor.handle(wire(foreign)) is Handled.REJECTED


async def test_inviting_a_contact_without_company_and_account_names_both(
    processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    contact_id = uuid.uuid4()
    bare = upsert_contact(contact_id, company=None, account_number=None)
    assert await processor.handle(wire(bare)) is Handled.ACCEPTED

    invitation = invite(contact_id, hash_secret(new_secret()))
    assert await processor.handle(wire(invitation)) is Handled.REJECTED
    assert await _fields(reader, invitation.command_id) == [
        "contact.company",
        "contact.account_number",
    ]


async def test_a_role_change_applies_to_the_next_command(
    processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    first = submit_order()
    assert await processor.handle(wire(first)) is Handled.ACCEPTED
    demoted = upsert_contact(
        JANE_CONTACT_ID, firstname="Jane", lastname="Contoso", email="jane@x.example", web_roles=[]
    )
    assert await processor.handle(wire(demoted)) is Handled.ACCEPTED

    second = submit_order()
    assert await processor.handle(wire(second)) is Handled.REJECTED
    assert await _fields(reader, second.command_id) == ["issued_by"]


async def test_only_an_administrator_changes_contacts(
    processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    by_jane = upsert_contact(uuid.uuid4(), issued_by=str(JANE_CONTACT_ID))
    assert await processor.handle(wire(by_jane)) is Handled.REJECTED
    assert await _fields(reader, by_jane.command_id) == ["issued_by"]


async def test_a_credential_is_revoked_by_an_administrator_or_its_contact_only(
    processor: CommandProcessor, reader: PostgresWriteModelReader, demo: PostgresEventStore
) -> None:
    code, credential = new_secret(), new_secret()
    assert await processor.handle(wire(invite(SAM_CONTACT_ID, hash_secret(code)))) is (
        Handled.ACCEPTED
    )
    redemption = redeem(SAM_CONTACT_ID, hash_secret(code), hash_secret(credential))
    assert await processor.handle(wire(redemption)) is Handled.ACCEPTED
    sams = credential_id(hash_secret(credential))

    def revoke(issued_by: str, contact_id: uuid.UUID = SAM_CONTACT_ID) -> RevokeCredential:
        return RevokeCredential(
            command_id=uuid.uuid4(), issued_by=issued_by, contact_id=contact_id,
            credential_id=sams,
        )  # fmt: skip

    by_jane = revoke(str(JANE_CONTACT_ID))
    assert await processor.handle(wire(by_jane)) is Handled.REJECTED
    assert await _fields(reader, by_jane.command_id) == ["issued_by"]
    as_janes = revoke("admin", contact_id=JANE_CONTACT_ID)  # Sam's credential is not Jane's
    assert await processor.handle(wire(as_janes)) is Handled.REJECTED
    assert await _fields(reader, as_janes.command_id) == ["credential_id"]
    holder = await reader.credential_holder(hash_secret(credential))
    assert holder is not None and holder.credential.revoked_at is None

    by_sam = revoke(str(SAM_CONTACT_ID))  # a contact may revoke its own
    assert await processor.handle(wire(by_sam)) is Handled.ACCEPTED
    holder = await reader.credential_holder(hash_secret(credential))
    assert holder is not None and holder.credential.revoked_at is not None
    assert holder.credential.revoked_by == str(SAM_CONTACT_ID)
    twice = revoke("admin")
    assert await processor.handle(wire(twice)) is Handled.REJECTED
