"""Checking and submitting an order (SPEC §3): what `POST /orders` and the order wizard share.

The check is the command processor's own (sync_service.domain.orders); the API only asks it
early, so that a refused order never reaches Kafka and the answer names every field at once.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID, uuid4, uuid5

from fastapi import Request

from contracts.cds import SalesOrder
from contracts.commands import DeliveryAddress, OrderLineRequest, SubmitOrder
from contracts.errors import FieldError
from portal_api.dispatch import dispatch
from portal_api.problems import Problem
from portal_api.schemas import OrderAccepted, OrderBody
from sync_service.domain.catalog import Catalog
from sync_service.domain.orders import build_sales_order, ordering_customer
from sync_service.domain.roles import Caller
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.writemodel.base import IdempotencyKeyReused, WriteModelReader

__all__ = [
    "IDEMPOTENCY_KEY_FIELD",
    "NO_CONTACT",
    "check_order",
    "preview_order",
    "submit_command_id",
    "submit_order",
]

# The bootstrap administrator has no contact record; its orders name the nil contact.
NO_CONTACT = UUID(int=0)
IDEMPOTENCY_KEY_FIELD = "Idempotency-Key"
"""The `FieldError.field` of a key that was used for another order."""
_SUBMIT_NAMESPACE = UUID("6b1d3f3e-2f0c-4c7e-9d8a-5f1b8e0c2a41")


def submit_command_id(order_id: UUID) -> UUID:
    """One command id per order, so that re-sending an order is applied once."""
    return uuid5(_SUBMIT_NAMESPACE, f"SubmitOrder:{order_id}")


def _command(body: OrderBody, caller: Caller, order_id: UUID) -> SubmitOrder:
    return SubmitOrder(
        command_id=submit_command_id(order_id),
        issued_by=caller.actor,
        order_id=order_id,
        contact_id=caller.contact_id or NO_CONTACT,
        requested_receipt_date=body.requested_receipt_date,
        delivery_address=DeliveryAddress(**body.delivery_address.model_dump()),
        requisition_number=body.requisition_number,
        company=body.company,
        customer_account=body.customer_account,
        ship_to_country=body.ship_to_country,
        # Unvalidated on purpose: a quantity <= 0 is reported by the order rules, named by
        # line, together with every other problem, instead of failing the whole request here.
        lines=[OrderLineRequest.model_construct(**line.model_dump()) for line in body.lines],
    )


async def _built(
    reader: WriteModelReader, command: SubmitOrder, caller: Caller
) -> tuple[str | None, SalesOrder | list[FieldError]]:
    """The order's company, and the order as the processor would store it or its problems."""
    contact = await reader.contact(caller.contact_id) if caller.contact_id else None
    customer = ordering_customer(command, caller, contact)
    account = None
    catalog = Catalog()
    if customer.company:
        wanted = sorted({line.product_number for line in command.lines})
        account, catalog = await reader.account_and_catalog(
            customer.company, customer.account_number, wanted
        )
    return customer.company, build_sales_order(command, caller, contact, account, catalog)


async def preview_order(
    reader: WriteModelReader, caller: Caller, body: OrderBody
) -> SalesOrder | list[FieldError]:
    """A dry run: the sales order with every field filled in, or every reason it is refused."""
    _, built = await _built(reader, _command(body, caller, uuid4()), caller)
    return built


async def check_order(
    reader: WriteModelReader, caller: Caller, body: OrderBody
) -> list[FieldError]:
    """Every reason the order would be refused, by the processor's own rules; [] if none."""
    built = await preview_order(reader, caller, body)
    return built if isinstance(built, list) else []


def _fingerprint(caller: Caller, body: OrderBody) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{caller.actor}\n{canonical}".encode()).hexdigest()


async def submit_order(
    request: Request, caller: Caller, body: OrderBody, idempotency_key: str | None
) -> OrderAccepted:
    """Check, claim the Idempotency-Key, and send the order to Kafka; a 422 Problem naming
    every field at fault, or 503 when Kafka does not take it."""
    reader: WriteModelReader = request.app.state.reader
    order_id = uuid4()
    command = _command(body, caller, order_id)
    company, built = await _built(reader, command, caller)
    if isinstance(built, list):
        COMMANDS_REFUSED.labels(SubmitOrder.message_type, "invalid").inc()
        raise Problem(422, "the order cannot be submitted; see errors", errors=built)
    if idempotency_key:
        try:
            earlier = await reader.claim_idempotency_key(
                caller.actor, idempotency_key, _fingerprint(caller, body), order_id
            )
        except IdempotencyKeyReused as reused:
            COMMANDS_REFUSED.labels(SubmitOrder.message_type, "idempotency_key_reused").inc()
            raise Problem(
                422,
                "this Idempotency-Key was used for a different order",
                errors=[FieldError(field=IDEMPOTENCY_KEY_FIELD, message=str(reused))],
            ) from None
        if earlier is not None:
            # A retry: send the first order again (applied once) and give the first answer.
            order_id = earlier
            command = _command(body, caller, order_id)
    await dispatch(request, command, company=company, wait=False)
    return OrderAccepted(order_id=order_id, command_id=command.command_id)
