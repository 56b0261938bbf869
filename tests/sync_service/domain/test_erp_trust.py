"""What the ERP side may change: the pure rules the inbound mapping asks (docs/mappings.md)."""

from __future__ import annotations

import uuid

import pytest

from sync_service.domain.erp_trust import (
    contact_move_refusal,
    named_portal_contact,
    orderer_refusal,
    status_refusal,
)
from tests.contracts.samples import CONTACT, SALES_ORDER

JANE = CONTACT  # of customer X (usmf/US-001), an Authorized user
FABRIKAM_ORDER = SALES_ORDER.model_copy(
    update={"customer_account": "US-002", "contact_person_id": str(JANE.contact_id)}
)


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        (str(JANE.contact_id), JANE.contact_id),
        ("000123", None),  # an SCM contact person number names no portal contact
        (str(uuid.UUID(int=0)), None),
        ("", None),
        (None, None),
    ],
)
def test_only_a_contact_id_names_a_portal_contact(
    named: str | None, expected: uuid.UUID | None
) -> None:
    assert named_portal_contact(named) == expected


def test_a_contact_of_the_orders_customer_may_be_its_orderer() -> None:
    order = FABRIKAM_ORDER.model_copy(update={"customer_account": "US-001"})
    assert orderer_refusal(order, JANE) is None


def test_a_contact_of_another_customer_or_company_or_none_may_not() -> None:
    refusal = orderer_refusal(FABRIKAM_ORDER, JANE)
    assert refusal is not None
    assert "usmf/US-001" in refusal and "usmf/US-002" in refusal
    other_company = FABRIKAM_ORDER.model_copy(
        update={"customer_account": "US-001", "company": "demf"}
    )
    assert orderer_refusal(other_company, JANE) is not None
    assert orderer_refusal(FABRIKAM_ORDER, None) == f"no portal contact {JANE.contact_id}"


def test_a_contact_holding_web_roles_is_not_moved_by_the_erp() -> None:
    moved = JANE.model_copy(update={"account_number": "US-002"})
    refusal = contact_move_refusal(JANE, moved)
    assert refusal is not None
    assert refusal.field == "AssociatedContactNumber"
    for words in ("authorized_user", "usmf/US-001", "usmf/US-002", "Jane Contoso", "redrive"):
        assert words in refusal.message
    other_company = contact_move_refusal(JANE, JANE.model_copy(update={"company": "demf"}))
    assert other_company is not None and other_company.field == "dataAreaId"


def test_other_contact_changes_are_the_erps_to_make() -> None:
    renamed = JANE.model_copy(update={"last_name": "Smith", "phone": "+1 555 0199"})
    assert contact_move_refusal(JANE, renamed) is None
    without_roles = JANE.model_copy(update={"web_roles": []})
    moved = without_roles.model_copy(update={"account_number": "US-002"})
    assert contact_move_refusal(without_roles, moved) is None
    assert contact_move_refusal(None, moved) is None  # a new contact


def test_status_changes_apply_only_to_the_records_own_company() -> None:
    assert status_refusal("usmf", "usmf") is None
    refusal = status_refusal("usmf", "demf")
    assert refusal is not None and refusal.field == "dataAreaId"
    assert "usmf" in refusal.message and "demf" in refusal.message
