"""The administration forms' translation: posted fields to API bodies, API errors to fields."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from contracts.errors import FieldError
from portal_api.problems import Problem, validated
from portal_api.schemas import ContactBody, InviteBody
from portal_web.pages.admin_forms import contact_data, invite_data, role_names, sort_errors


def test_an_empty_optional_box_is_no_value_and_the_roles_are_every_ticked_box() -> None:
    form = FormData(
        [("lastname", "Akers"), ("email", " Kim@X.example "), ("company", "  "),
         ("web_roles", "administrator"), ("web_roles", "authorized_user")]
    )  # fmt: skip
    data = contact_data(form)
    assert data["company"] is None and data["price_list"] is None
    assert data["web_roles"] == ["administrator", "authorized_user"]
    body = validated(ContactBody, data)
    assert (body.lastname, body.email, body.company) == ("Akers", "kim@x.example", None)


def test_a_required_box_left_empty_is_refused_by_the_api_model_at_its_field() -> None:
    with pytest.raises(Problem) as refused:
        validated(ContactBody, contact_data(FormData([("email", "kim@x.example")])))
    assert refused.value.status == 422
    assert [error.field for error in refused.value.errors] == ["lastname"]


def test_invitation_numbers_are_numbers_and_anything_else_reaches_the_api_check() -> None:
    form = FormData([("kind", "group"), ("max_redemptions", "3"), ("expires_in_days", "")])
    data = invite_data(form, "00000000-0000-4000-8000-00000000a003")
    assert (data["kind"], data["max_redemptions"], data["expires_in_days"]) == ("group", 3, None)
    assert validated(InviteBody, data).max_redemptions == 3
    typed = invite_data(FormData([("max_redemptions", "three")]), data["contact_id"])
    assert typed["kind"] == "single"
    with pytest.raises(Problem) as refused:
        validated(InviteBody, typed)
    assert [error.field for error in refused.value.errors] == ["max_redemptions"]


def test_an_error_goes_to_the_field_it_names_or_to_the_top_of_the_page() -> None:
    errors = [
        FieldError(field="web_roles[1]", message="bad role"),
        FieldError(field="contact.company", message="set the company"),
        FieldError(field="currency", message="three letters"),
    ]
    sorted_ = sort_errors(errors, ["currency", "web_roles"])
    assert sorted_.at_field == {"web_roles": "bad role", "currency": "three letters"}
    assert [error.field for error in sorted_.other] == ["contact.company"]


def test_web_roles_are_named_as_the_seed_names_them() -> None:
    assert role_names(["customer_representative", "authorized_user"]) == (
        "Customer representative, Authorized user"
    )
    assert role_names([]) == "none"
