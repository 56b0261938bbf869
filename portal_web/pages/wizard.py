"""The Create Order wizard (seed: "The out-of-box order creation process"): three steps.

Order information -> Items -> Review and submit. Every step is a form that posts the whole
draft back (order_draft.py); a step checks what was entered with the API's validation and the
processor's own rules (portal_api.ordering) and shows each refused field at its field. Submit
calls the same `submit_order` as `POST /orders`, with the wizard's one Idempotency-Key.
"""

from __future__ import annotations

from typing import Final

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.requests import Request

from contracts.errors import FieldError
from portal_api.ordering import IDEMPOTENCY_KEY_FIELD, check_order, submit_order
from portal_api.problems import Problem
from portal_web.pages.order_draft import (
    DRAFT_FIELD,
    Draft,
    DraftLine,
    Step,
    order_body,
    parse_draft,
    step_of,
)
from portal_web.pages.wizard_views import information_page, items_page, review_page
from portal_web.routing import page_router
from portal_web.visitor import CheckedForm, OrderingVisitor, Visitor

__all__ = ["router"]

router = page_router()

_START: Final = "/portal/orders/new"


def _text(form: FormData) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _posted(form: FormData, visitor: Visitor) -> tuple[Draft, dict[str, str]]:
    """The draft as posted, with the fields of the step the form came from taken in."""
    fields = _text(form)
    draft = parse_draft(fields.get(DRAFT_FIELD))
    if fields.get("step") == "information":
        draft = draft.with_information(fields, admin=visitor.caller.is_admin)
    return draft, fields


async def _problems(
    request: Request, visitor: Visitor, draft: Draft, step: Step
) -> list[FieldError]:
    """What the API would refuse in the draft, as far as it concerns `step`."""
    # The information step is checked without the items, so that an item's problem never
    # hides whether the information itself would do.
    body = order_body(draft, visitor.caller, with_lines=step != "information")
    if isinstance(body, list):
        problems = body
    else:
        problems = await check_order(request.app.state.reader, visitor.caller, body)
    return [problem for problem in problems if step_of(problem.field) == step]


@router.get("/orders/new", response_class=HTMLResponse)
async def start(request: Request, visitor: OrderingVisitor) -> Response:
    """Step 1 of a new wizard, with the Idempotency-Key of its one order."""
    return await information_page(request, visitor, Draft.start(), [])


@router.get("/orders/new/{step}")
async def restart(step: str, visitor: OrderingVisitor) -> Response:
    """A step's address opened directly (a bookmark, a reload): the draft lives in the forms."""
    return RedirectResponse(_START, status_code=303)


@router.post("/orders/new/information", response_class=HTMLResponse)
async def information(request: Request, visitor: OrderingVisitor, form: CheckedForm) -> Response:
    """Back to step 1, everything entered kept."""
    draft, _ = _posted(form, visitor)
    return await information_page(request, visitor, draft, [])


@router.post("/orders/new/items", response_class=HTMLResponse)
async def items(request: Request, visitor: OrderingVisitor, form: CheckedForm) -> Response:
    """Step 2; from step 1 only once its fields would do; adds, changes and removes items."""
    draft, fields = _posted(form, visitor)
    origin = fields.get("step")
    if origin == "information":
        problems = await _problems(request, visitor, draft, "information")
        if problems:
            return await information_page(request, visitor, draft, problems, status=422)
        return await items_page(request, visitor, draft, [])
    action, _, which = fields.get("action", "").partition(":")
    index = int(which) if which.isdigit() and int(which) < len(draft.lines) else None
    if origin != "items" or action not in {"add", "save", "change", "remove"}:
        return await items_page(request, visitor, draft, [])
    if action == "change" and index is not None:
        return await items_page(request, visitor, draft, [], editing=index)
    if action == "remove" and index is not None:
        draft = draft.without_line(index)
    elif action in {"add", "save"}:
        line = DraftLine(
            product_number=fields.get("product_number", "").strip(),
            quantity=fields.get("quantity", "").strip(),
            unit=fields.get("unit", "").strip(),
        )
        draft = draft.with_line(line, index if action == "save" else None)
    problems = await _problems(request, visitor, draft, "items") if draft.lines else []
    status = 422 if problems else 200
    return await items_page(request, visitor, draft, problems, status=status, acted=True)


@router.post("/orders/new/review", response_class=HTMLResponse)
async def review(request: Request, visitor: OrderingVisitor, form: CheckedForm) -> Response:
    """Step 3, once the items would do: the whole order, and what would still refuse it."""
    draft, fields = _posted(form, visitor)
    if fields.get("step") == "items":
        problems = await _problems(request, visitor, draft, "items")
        if problems:
            return await items_page(request, visitor, draft, problems, status=422)
    return await review_page(request, visitor, draft)


@router.post("/orders/new/submit")
async def submit(request: Request, visitor: OrderingVisitor, form: CheckedForm) -> Response:
    """Submit the order once (the wizard's Idempotency-Key), then show its page."""
    draft, _ = _posted(form, visitor)
    body = order_body(draft, visitor.caller)
    try:
        if isinstance(body, list):
            raise Problem(422, "the order cannot be submitted; see errors", errors=body)
        accepted = await submit_order(request, visitor.caller, body, draft.key)
    except Problem as refused:
        return await _refused(request, visitor, draft, refused)
    return RedirectResponse(f"/portal/orders/{accepted.order_id}", status_code=303)


async def _refused(request: Request, visitor: Visitor, draft: Draft, refused: Problem) -> Response:
    """The earliest step with a refused field, the field's message at it; else the review."""
    errors = refused.errors if refused.status == 422 else []
    information = [error for error in errors if step_of(error.field) == "information"]
    if information:
        return await information_page(request, visitor, draft, information, status=422)
    items = [error for error in errors if step_of(error.field) == "items"]
    if items:
        return await items_page(request, visitor, draft, items, status=422)
    notice = refused.detail
    if any(error.field == IDEMPOTENCY_KEY_FIELD for error in errors):
        notice = (
            "This order was submitted already, with other values. Start a new order to order again."
        )
    response = await review_page(request, visitor, draft, notice=notice, status=refused.status)
    response.headers.update(refused.headers)
    return response
