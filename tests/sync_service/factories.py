"""Commands as the API would publish them, for the demo data set's people."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.commands import InviteContact, RedeemInvitation, SubmitOrder, UpsertContact
from contracts.envelope import Envelope, Message, to_json_bytes
from sync_service.command_processor import command_envelope
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.eventstore.base import NewEvent, StoredEvent


def submit_order(**changes: Any) -> SubmitOrder:
    """Jane orders 3 ea and 2 box of P-1000 unless told otherwise."""
    fields: dict[str, Any] = {
        "command_id": uuid.uuid4(),
        "issued_by": str(JANE_CONTACT_ID),
        "order_id": uuid.uuid4(),
        "contact_id": JANE_CONTACT_ID,
        "requested_receipt_date": date(2025, 4, 1),
        "delivery_address": {"street": "1 Main St", "city": "Redmond", "postal_code": "98052"},
        "lines": [
            {"product_number": "P-1000", "quantity": "3", "unit": "ea"},
            {"product_number": "P-1000", "quantity": "2", "unit": "box"},
        ],
    }
    fields.update(changes)
    return SubmitOrder.model_validate(fields)


def upsert_contact(contact_id: uuid.UUID, **changes: Any) -> UpsertContact:
    """The bootstrap admin writes a complete contact of customer X."""
    fields: dict[str, Any] = {
        "command_id": uuid.uuid4(),
        "issued_by": "admin",
        "contact_id": contact_id,
        "firstname": "New",
        "lastname": "Contact",
        "email": "kim@x.example",
        "company": "usmf",
        "account_number": "US-001",
        "price_list": "PL-US-001",
        "currency": "USD",
        "ship_to_country": "US",
        "language": "en-us",
        "web_roles": ["authorized_user"],
    }
    fields.update(changes)
    return UpsertContact.model_validate(fields)


def invite(contact_id: uuid.UUID, code_hash: str, **changes: Any) -> InviteContact:
    """The bootstrap admin invites a contact for 7 days."""
    fields: dict[str, Any] = {
        "command_id": uuid.uuid4(),
        "issued_by": "admin",
        "invitation_id": uuid.uuid4(),
        "contact_id": contact_id,
        "code_hash": code_hash,
        "expires_at": datetime.now(UTC) + timedelta(days=7),
    }
    fields.update(changes)
    return InviteContact.model_validate(fields)


def redeem(contact_id: uuid.UUID, code_hash: str, credential_hash: str) -> RedeemInvitation:
    """Redeem by code, as the API does after looking the code's hash up."""
    return RedeemInvitation(
        command_id=uuid.uuid4(),
        issued_by="anonymous",
        contact_id=contact_id,
        code_hash=code_hash,
        credential_hash=credential_hash,
    )


def wire(command: Any, company: str = "usmf") -> bytes:
    """The record value the API publishes."""
    env: Envelope[Message] = command_envelope(command, company=company)
    return to_json_bytes(env)


def hostile_wire(command: Any, **payload: Any) -> bytes:
    """`command`'s record value with payload fields replaced, unchecked: what a hostile producer
    can send, though the contracts would refuse to build such a command (a NUL, a huge number).

    A nested field is given whole (`delivery_address={...}`); JSON escapes every control
    character and lone surrogate (`\\u0000`), as any JSON encoder would on the wire.
    """
    data = json.loads(wire(command))
    data["payload"].update(payload)
    return json.dumps(data).encode()


def stored(
    row: NewEvent, *, position: int, stream_id: str, stream_type: str, version: int
) -> StoredEvent:
    """`row` as the store would give it back, at the given place."""
    return StoredEvent(
        position=position,
        stream_id=stream_id,
        stream_type=stream_type,
        version=version,
        recorded_at=datetime.now(UTC),
        **{field: getattr(row, field) for field in NewEvent.__dataclass_fields__},
    )
