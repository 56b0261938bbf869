"""The administration pages' forms: posted fields to the API's request bodies, and back.

Nothing here checks a value: the API's request models (portal_api.schemas) and the domain do,
and their FieldErrors are put next to the field they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData

from contracts.cds import Contact
from contracts.errors import FieldError
from sync_service.domain.roles import ADMINISTRATOR, AUTHORIZED_USER, CUSTOMER_REPRESENTATIVE

__all__ = [
    "CONTACT_FIELDS",
    "WEB_ROLE_CHOICES",
    "FormField",
    "SortedErrors",
    "contact_data",
    "contact_values",
    "invite_data",
    "posted_text",
    "role_names",
    "sort_errors",
    "values_with",
]


@dataclass(frozen=True, slots=True)
class FormField:
    """One text field of the contact form: its name in the API, label and hint."""

    name: str
    label: str
    hint: str | None = None
    required: bool = False


CONTACT_FIELDS: Final = (
    FormField("company", "Company", "The legal entity in the ERP, e.g. usmf."),
    FormField("account_number", "Account Number", "The customer account, e.g. US-001."),
    FormField("firstname", "First name"),
    FormField("lastname", "Last name", required=True),
    FormField("email", "E-mail", required=True),
    FormField("price_list", "Price list", "e.g. PL-US-001"),
    FormField("currency", "Currency", "Three capital letters, e.g. USD."),
    FormField("ship_to_country", "Ship to country/region", "Two capital letters, e.g. US."),
    FormField("language", "Language", "e.g. en-us"),
)
"""The contact record's fields, in the order of the seed's contact form."""

WEB_ROLE_CHOICES: Final = (
    (ADMINISTRATOR, "Administrator"),
    (CUSTOMER_REPRESENTATIVE, "Customer representative"),
    (AUTHORIZED_USER, "Authorized user"),
)
"""The web roles with the seed's names."""

_ROLE_LABELS: Final = dict(WEB_ROLE_CHOICES)


def role_names(roles: Iterable[str] | None) -> str:
    """The web roles in the seed's words, for a list ("none" when there is none)."""
    names = [_ROLE_LABELS.get(role, role) for role in roles or []]
    return ", ".join(names) or "none"


_OPTIONAL: Final = frozenset(f.name for f in CONTACT_FIELDS if not f.required)


def posted_text(form: FormData, name: str) -> str:
    """The text posted in field `name`, or "" (not posted, or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def contact_data(form: FormData) -> dict[str, Any]:
    """The posted contact form as the body of `PUT /admin/contacts/{contact_id}`."""
    data: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        value = posted_text(form, field.name)
        # An empty optional box means "not set", which the API spells as no value.
        data[field.name] = None if field.name in _OPTIONAL and not value.strip() else value
    data["web_roles"] = [role for role in form.getlist("web_roles") if isinstance(role, str)]
    return data


def contact_values(contact: Contact | None) -> dict[str, Any]:
    """A stored contact's values in the form's names (empty for a new contact)."""
    if contact is None:
        return {field.name: "" for field in CONTACT_FIELDS} | {"web_roles": []}
    return {
        "company": contact.company,
        "account_number": contact.account_number,
        "firstname": contact.first_name,
        "lastname": contact.last_name,
        "email": contact.email,
        "price_list": contact.price_list,
        "currency": contact.currency,
        "ship_to_country": contact.ship_to_country,
        "language": contact.language,
        "web_roles": list(contact.web_roles or []),
    }


def _number(text: str) -> int | str | None:
    # The API's numbers are strict JSON integers; a box holds text. Digits become the number,
    # anything else goes to the API's check as typed, so that its words name the fault.
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 10 else text


def invite_data(form: FormData, contact_id: str) -> dict[str, Any]:
    """The posted invitation form as the body of `POST /admin/invitations`."""
    return {
        "contact_id": contact_id,
        "kind": posted_text(form, "kind") or "single",
        "max_redemptions": _number(posted_text(form, "max_redemptions")),
        "expires_in_days": _number(posted_text(form, "expires_in_days")),
    }


@dataclass(frozen=True, slots=True)
class SortedErrors:
    """The API's FieldErrors: those of a field on the page, and the rest for the page's top."""

    at_field: dict[str, str]
    other: list[FieldError]


def sort_errors(errors: Iterable[FieldError], fields: Iterable[str]) -> SortedErrors:
    """Each error at the page's field it names (`web_roles[1]` at `web_roles`), else on top."""
    names = set(fields)
    at_field: dict[str, str] = {}
    other: list[FieldError] = []
    for error in errors:
        name = error.field.partition("[")[0]
        if name in names:
            at_field.setdefault(name, error.message)
        else:
            other.append(error)
    return SortedErrors(at_field, other)


def values_with(typed: Mapping[str, Any]) -> dict[str, Any]:
    """What the person typed, to show again in the form (None as an empty box)."""
    return {name: ("" if value is None else value) for name, value in typed.items()}
