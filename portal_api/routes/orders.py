"""Submitting an order (SPEC §3): checked at once, then accepted onto Kafka as `pending`."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from contracts.bounds import SINGLE_LINE_PATTERN
from contracts.commands import DeliveryAddress, OrderLineRequest, SubmitOrder
from contracts.errors import FieldError
from portal_api.auth import OrderingCaller
from portal_api.dispatch import dispatch
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_BODY
from portal_api.problems import Problem
from portal_api.schemas import OrderAccepted, OrderBody
from sync_service.domain.catalog import Catalog
from sync_service.domain.orders import build_sales_order, ordering_customer
from sync_service.domain.roles import Caller
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.writemodel.base import IdempotencyKeyReused, WriteModelReader

__all__ = ["router"]

router = APIRouter(tags=["orders"], responses=NEEDS_STORE)

# The bootstrap administrator has no contact record; its orders name the nil contact.
NO_CONTACT = UUID(int=0)
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


async def _check(
    reader: WriteModelReader, command: SubmitOrder, caller: Caller
) -> tuple[str | None, list[FieldError]]:
    """The order's company and every reason it would be refused (the processor's own rules)."""
    contact = await reader.contact(caller.contact_id) if caller.contact_id else None
    customer = ordering_customer(command, caller, contact)
    account = None
    catalog = Catalog()
    if customer.company:
        wanted = sorted({line.product_number for line in command.lines})
        account, catalog = await reader.account_and_catalog(
            customer.company, customer.account_number, wanted
        )
    built = build_sales_order(command, caller, contact, account, catalog)
    return customer.company, built if isinstance(built, list) else []


def _fingerprint(caller: Caller, body: OrderBody) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{caller.actor}\n{canonical}".encode()).hexdigest()


@router.post(
    "/orders",
    response_model=OrderAccepted,
    status_code=202,
    responses={**SIGNED_IN, **WITH_BODY},
)
async def submit_order(
    body: OrderBody,
    caller: OrderingCaller,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=SINGLE_LINE_PATTERN)
    ] = None,
) -> Any:
    """202 `pending` once the order is durably on Kafka; 422 listing every problem."""
    reader: WriteModelReader = request.app.state.reader
    order_id = uuid4()
    command = _command(body, caller, order_id)
    company, problems = await _check(reader, command, caller)
    if problems:
        COMMANDS_REFUSED.labels(SubmitOrder.message_type, "invalid").inc()
        raise Problem(422, "the order cannot be submitted; see errors", errors=problems)
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
                errors=[FieldError(field="Idempotency-Key", message=str(reused))],
            ) from None
        if earlier is not None:
            # A retry: send the first order again (applied once) and give the first answer.
            order_id = earlier
            command = _command(body, caller, order_id)
    await dispatch(
        request,
        command,
        company=company,
        wait=False,
    )
    accepted = OrderAccepted(order_id=order_id, command_id=command.command_id)
    return JSONResponse(
        accepted.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/orders/{order_id}"},
    )
