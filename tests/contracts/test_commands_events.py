"""Commands and events check types and shape; business rules are left to sync_service."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from contracts.commands import InviteContact, RedeemInvitation, SubmitOrder, UpsertContact
from contracts.events import CommandRejected, InvitationRedeemed, OrderSyncStatusChanged
from tests.contracts.samples import INVITATION, SAMPLES


def _data(message_type: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = SAMPLES[message_type].model_dump(mode="json")
    data.update(changes)
    return data


def _error_fields(exc: ValidationError) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in exc.errors()]


def test_a_single_invitation_is_redeemed_once() -> None:
    with pytest.raises(ValidationError, match="max_redemptions 1"):
        InviteContact.model_validate(_data("InviteContact", kind="single", max_redemptions=3))
    group = InviteContact.model_validate(_data("InviteContact", kind="group", max_redemptions=3))
    assert group.max_redemptions == 3


def test_an_invitation_defaults_to_single_and_may_not_have_zero_redemptions() -> None:
    data = _data("InviteContact")
    del data["kind"], data["max_redemptions"]
    invite = InviteContact.model_validate(data)
    assert (invite.kind, invite.max_redemptions) == ("single", 1)
    with pytest.raises(ValidationError) as caught:
        InviteContact.model_validate(_data("InviteContact", kind="group", max_redemptions=0))
    assert _error_fields(caught.value) == ["max_redemptions"]


def test_an_invitation_expiry_must_be_aware() -> None:
    with pytest.raises(ValidationError) as caught:
        InviteContact.model_validate(_data("InviteContact", expires_at=datetime(2025, 1, 1)))
    assert _error_fields(caught.value) == ["expires_at"]


def test_a_redemption_names_the_invitation_by_id_or_code_hash() -> None:
    with pytest.raises(ValidationError, match="invitation_id or code_hash"):
        RedeemInvitation.model_validate(_data("RedeemInvitation", code_hash=None))
    by_id = RedeemInvitation.model_validate(
        _data("RedeemInvitation", code_hash=None, invitation_id=str(INVITATION))
    )
    assert by_id.invitation_id == INVITATION


def test_hashes_may_not_be_empty() -> None:
    with pytest.raises(ValidationError) as caught:
        RedeemInvitation.model_validate(_data("RedeemInvitation", credential_hash=""))
    assert _error_fields(caught.value) == ["credential_hash"]


def test_upsert_contact_refuses_an_unknown_web_role() -> None:
    with pytest.raises(ValidationError) as caught:
        UpsertContact.model_validate(_data("UpsertContact", web_roles=["administrator", "owner"]))
    assert _error_fields(caught.value) == ["web_roles.1"]


def test_submit_order_names_every_field_at_fault() -> None:
    data = _data("SubmitOrder", requested_receipt_date="soon")
    data["delivery_address"] = {"street": "1 Main St", "city": "Redmond"}
    data["lines"] = [
        {"product_number": "D0001", "quantity": "2", "unit": "box"},
        {"product_number": "D0002", "quantity": "-1", "unit": "ea"},
        {"product_number": "D0003", "quantity": "1"},
    ]
    with pytest.raises(ValidationError) as caught:
        SubmitOrder.model_validate(data)
    assert _error_fields(caught.value) == [
        "requested_receipt_date",
        "delivery_address.postal_code",
        "lines.1.quantity",
        "lines.2.unit",
    ]


def test_submit_order_leaves_admin_only_fields_to_the_command_processor() -> None:
    order = SubmitOrder.model_validate(
        _data("SubmitOrder", company="USMF", customer_account="US-002", ship_to_country="US")
    )
    assert (order.company, order.customer_account) == ("usmf", "US-002")


def test_commands_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        SubmitOrder.model_validate(_data("SubmitOrder", price_override="0"))
    assert _error_fields(caught.value) == ["price_override"]


def test_order_sync_status_is_one_of_the_portal_statuses() -> None:
    for status in (
        "pending",
        "synced",
        "confirmed",
        "shipped",
        "invoiced",
        "sync_failed",
        "canceled",
    ):
        changed = OrderSyncStatusChanged.model_validate(
            _data("OrderSyncStatusChanged", status=status)
        )
        assert changed.status == status
    with pytest.raises(ValidationError):
        OrderSyncStatusChanged.model_validate(_data("OrderSyncStatusChanged", status="Delivered"))


def test_a_rejection_names_at_least_one_field() -> None:
    with pytest.raises(ValidationError) as caught:
        CommandRejected.model_validate(_data("CommandRejected", errors=[]))
    assert _error_fields(caught.value) == ["errors"]


def test_redemptions_are_numbered_from_one() -> None:
    with pytest.raises(ValidationError):
        InvitationRedeemed.model_validate(_data("InvitationRedeemed", redemption=0))


def test_messages_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SAMPLES["SubmitOrder"].order_id = None  # type: ignore[attr-defined]
