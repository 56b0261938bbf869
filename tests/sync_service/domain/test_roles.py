"""Web roles: what each caller may do."""

from __future__ import annotations

import uuid

import pytest

from sync_service.domain.roles import Caller

CONTACT = uuid.uuid4()


@pytest.mark.parametrize(
    ("caller", "admin", "orders", "authorized"),
    [
        (Caller.bootstrap_admin(), True, True, True),
        (Caller.contact(CONTACT, ["administrator"]), True, True, True),
        (Caller.contact(CONTACT, ["customer_representative"]), False, True, True),
        (Caller.contact(CONTACT, ["authorized_user"]), False, True, True),
        (Caller.contact(CONTACT, []), False, False, False),
        (Caller.anonymous(), False, False, False),
    ],
    ids=["bootstrap", "administrator", "representative", "authorized", "no-role", "anonymous"],
)
def test_what_each_role_may_do(caller: Caller, admin: bool, orders: bool, authorized: bool) -> None:
    assert caller.is_admin is admin
    assert caller.may_invite is admin
    assert caller.may_manage_contacts is admin
    assert caller.may_submit_orders is orders
    assert caller.is_authorized is authorized


def test_the_actor_names_the_contact_or_the_bootstrap_admin() -> None:
    assert Caller.contact(CONTACT, ["authorized_user"]).actor == str(CONTACT)
    assert Caller.bootstrap_admin().actor == "admin"
