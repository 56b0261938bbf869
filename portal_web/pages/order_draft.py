"""The order wizard's draft: what the person typed so far, carried by the forms as one hidden field.

Kept as typed (text), so that a refused value comes back exactly as entered; turned into the
API's `OrderBody` only to be checked or submitted, where the API's own validation and the
processor's rules speak. The draft decides nothing: it holds, parses and names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.errors import FieldError
from portal_api.problems import Problem, validated
from portal_api.schemas import MAX_LINES, OrderBody
from sync_service.domain.roles import Caller

__all__ = [
    "DRAFT_FIELD",
    "INFORMATION_FIELDS",
    "Draft",
    "DraftLine",
    "Step",
    "errors_by_field",
    "order_body",
    "parse_draft",
    "step_of",
]

DRAFT_FIELD: Final = "draft"
"""The hidden field every wizard form posts: the draft as JSON."""

Step = Literal["information", "items", "review"]

# Bounded like the API's own fields, loosely: the API's validation names what is too long.
_Typed = Annotated[str, StringConstraints(max_length=2000)]

INFORMATION_FIELDS: Final = {
    "requested_receipt_date": "requested_receipt_date",
    "delivery_address": "street",
    "delivery_address.street": "street",
    "delivery_address.city": "city",
    "delivery_address.postal_code": "postal_code",
    "requisition_number": "requisition_number",
    "company": "company",
    "customer_account": "customer_account",
    "ship_to_country": "ship_to_country",
}
"""The API's field names of the Order information step -> the form field they are shown at."""


class DraftLine(BaseModel):
    """One item as typed: product number, quantity and unit."""

    model_config = ConfigDict(extra="forbid")

    product_number: _Typed = ""
    quantity: _Typed = ""
    unit: _Typed = ""


class Draft(BaseModel):
    """Everything entered in the wizard, and the wizard's one Idempotency-Key."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]
    requested_receipt_date: _Typed = ""
    street: _Typed = ""
    city: _Typed = ""
    postal_code: _Typed = ""
    requisition_number: _Typed = ""
    company: _Typed = ""
    customer_account: _Typed = ""
    ship_to_country: _Typed = ""
    lines: list[DraftLine] = Field(default_factory=list, max_length=MAX_LINES)

    @classmethod
    def start(cls) -> Draft:
        """A new wizard: nothing entered, a fresh Idempotency-Key for its one order."""
        return cls(key=str(uuid4()))

    def with_information(self, form: Mapping[str, str], *, admin: bool) -> Draft:
        """The draft with the Order information step's fields as posted."""
        names = ["requested_receipt_date", "street", "city", "postal_code", "requisition_number"]
        # Only an Administrator's form has these; anybody else's come from the contact record.
        names += ["company", "customer_account", "ship_to_country"] if admin else []
        return self.model_copy(update={name: form.get(name, "").strip() for name in names})

    def with_line(self, line: DraftLine, index: int | None) -> Draft:
        """The draft with `line` added (index None) or put in place of item `index`."""
        lines = list(self.lines)
        if index is None:
            lines.append(line)
        elif 0 <= index < len(lines):
            lines[index] = line
        return self.model_copy(update={"lines": lines})

    def without_line(self, index: int) -> Draft:
        """The draft without item `index`."""
        return self.model_copy(
            update={"lines": [line for i, line in enumerate(self.lines) if i != index]}
        )


def parse_draft(posted: str | None) -> Draft:
    """The draft a form posted; a 400 page when the form was not the wizard's."""
    if not posted:
        raise Problem(400, "This order form is incomplete. Start the order again.")
    try:
        return Draft.model_validate_json(posted)
    except ValidationError:
        raise Problem(400, "This order form could not be read. Start the order again.") from None


def order_body(
    draft: Draft, caller: Caller, *, with_lines: bool = True
) -> OrderBody | list[FieldError]:
    """The API's request body for the draft, or the API's validation errors of it."""
    data: dict[str, object] = {
        "requested_receipt_date": draft.requested_receipt_date,
        "delivery_address": {
            "street": draft.street,
            "city": draft.city,
            "postal_code": draft.postal_code,
        },
        "requisition_number": draft.requisition_number or None,
        "lines": [line.model_dump() for line in draft.lines] if with_lines else [],
    }
    if caller.is_admin:
        data["company"] = draft.company or None
        data["customer_account"] = draft.customer_account or None
        data["ship_to_country"] = draft.ship_to_country or None
    try:
        return validated(OrderBody, data)
    except Problem as invalid:
        return invalid.errors


def step_of(field: str) -> Step:
    """The wizard step where a problem with the API's `field` is shown."""
    if field in INFORMATION_FIELDS:
        return "information"
    if field == "lines" or field.startswith("lines["):
        return "items"
    return "review"


def errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    """The API's messages by field, several for one field joined."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error.message)
    return {field: "; ".join(messages) for field, messages in found.items()}
