"""Invitation rules: who may be invited, expiry, single and group redemption limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.cds import Contact
from sync_service.domain.invitations import (
    InvitationState,
    InvitationStatus,
    RedemptionRefusal,
    invitation_expiry,
    invitation_problems,
    invitation_status,
    redemption_refusal,
)
from sync_service.domain.roles import Caller

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
JANE = uuid.uuid4()
ADMIN = Caller.bootstrap_admin()


def jane(**changes: object) -> Contact:
    fields: dict[str, object] = {"contact_id": JANE, "company": "usmf", "account_number": "US-001"}
    fields.update(changes)
    return Contact.model_validate(fields)


def state(**changes: object) -> InvitationState:
    fields: dict[str, object] = {
        "invitation_id": uuid.uuid4(),
        "contact_id": JANE,
        "kind": "single",
        "max_redemptions": 1,
        "redemptions": 0,
        "expires_at": NOW + timedelta(days=7),
    }
    fields.update(changes)
    return InvitationState(**fields)  # type: ignore[arg-type]


def fields_of(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [problem.field for problem in problems]


def test_an_admin_may_invite_a_contact_with_company_and_account() -> None:
    assert invitation_problems(ADMIN, jane()) == []
    assert invitation_problems(ADMIN, jane(), kind="group", max_redemptions=5) == []


@pytest.mark.parametrize(
    ("contact", "fields"),
    [
        (jane(company=None), ["contact.company"]),
        (jane(account_number=None), ["contact.account_number"]),
        (jane(company=None, account_number=None), ["contact.company", "contact.account_number"]),
        (None, ["contact_id"]),
    ],
)
def test_inviting_names_every_missing_field(contact: Contact | None, fields: list[str]) -> None:
    assert fields_of(invitation_problems(ADMIN, contact)) == fields


def test_only_an_administrator_invites() -> None:
    rep = Caller.contact(uuid.uuid4(), ["customer_representative"])
    assert fields_of(invitation_problems(rep, jane())) == ["issued_by"]
    assert invitation_problems(Caller.contact(uuid.uuid4(), ["administrator"]), jane()) == []


def test_a_single_invitation_is_redeemed_once() -> None:
    problems = invitation_problems(ADMIN, jane(), kind="single", max_redemptions=3)
    assert fields_of(problems) == ["max_redemptions"]


def test_expiry_defaults_from_the_ttl() -> None:
    assert invitation_expiry(NOW, 7) == NOW + timedelta(days=7)


def test_a_valid_code_may_be_redeemed_by_its_contact() -> None:
    assert redemption_refusal(state(), NOW, JANE) is None
    assert redemption_refusal(state(), NOW) is None


@pytest.mark.parametrize(
    ("invitation", "at", "refusal"),
    [
        (None, NOW, RedemptionRefusal.UNKNOWN),
        (state(expires_at=NOW), NOW, RedemptionRefusal.EXPIRED),
        (state(expires_at=NOW - timedelta(seconds=1)), NOW, RedemptionRefusal.EXPIRED),
        (state(redemptions=1), NOW, RedemptionRefusal.USED_UP),
        (state(kind="group", max_redemptions=3, redemptions=3), NOW, RedemptionRefusal.USED_UP),
    ],
    ids=["unknown", "expires-now", "expired", "single-used", "group-used-up"],
)
def test_refusals_are_distinct(
    invitation: InvitationState | None, at: datetime, refusal: RedemptionRefusal
) -> None:
    assert redemption_refusal(invitation, at) is refusal
    assert refusal.message  # each has its own sentence for the API


def test_a_group_invitation_is_redeemed_up_to_its_maximum() -> None:
    group = state(kind="group", max_redemptions=3, redemptions=2)
    assert redemption_refusal(group, NOW, JANE) is None


def test_a_code_is_only_for_the_invited_contact() -> None:
    assert redemption_refusal(state(), NOW, uuid.uuid4()) is RedemptionRefusal.WRONG_CONTACT


def test_an_invitation_is_open_until_it_is_used_up_or_expires() -> None:
    assert invitation_status(state(), NOW) is InvitationStatus.OPEN
    group = state(kind="group", max_redemptions=3, redemptions=2)
    assert invitation_status(group, NOW) is InvitationStatus.OPEN
    assert invitation_status(state(redemptions=1), NOW) is InvitationStatus.REDEEMED
    assert invitation_status(state(expires_at=NOW), NOW) is InvitationStatus.EXPIRED
    # Used before it expired: it stays "redeemed", and its code stays refused.
    used = state(redemptions=1, expires_at=NOW - timedelta(days=1))
    assert invitation_status(used, NOW) is InvitationStatus.REDEEMED
    assert redemption_refusal(used, NOW) is RedemptionRefusal.EXPIRED
