"""Deciding each portal command against the current write model: accepted events or refusals.

Each handler reads what it needs through the unit of work's CommandState (so what it sees is
what the append will be checked against, including commands decided earlier in the same batch),
applies the domain rules, and returns a Decision. It writes nothing: the command processor
records the decision.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from contracts.cds import Contact
from contracts.commands import (
    InviteContact,
    RedeemInvitation,
    RevokeCredential,
    SubmitOrder,
    UpsertContact,
)
from contracts.envelope import Envelope, Message
from contracts.errors import FieldError
from contracts.events import (
    ContactUpserted,
    CredentialRevoked,
    InvitationIssued,
    InvitationRedeemed,
    OrderSubmitted,
)
from sync_service.command_state import CommandState
from sync_service.domain.catalog import Catalog
from sync_service.domain.credentials import revocation_problems
from sync_service.domain.invitations import invitation_problems, redemption_refusal
from sync_service.domain.orders import build_sales_order, ordering_customer
from sync_service.streams import (
    contact_stream,
    credential_stream,
    invitation_stream,
    order_stream,
)

__all__ = ["HANDLERS", "Decision", "aggregate_stream", "decide"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The events a command leads to, in `stream_id`, or the fields at fault."""

    stream_id: str
    company: str
    events: list[Message] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the command is accepted (it has events and no errors)."""
        return not self.errors


def aggregate_stream(command: Message) -> str:
    """The stream a command's events (or its rejection) go to."""
    if isinstance(command, UpsertContact):
        return contact_stream(command.contact_id)
    if isinstance(command, InviteContact):
        return invitation_stream(command.invitation_id)
    if isinstance(command, RedeemInvitation):
        # A code that names no invitation has no invitation stream: the contact's takes it.
        if command.invitation_id is not None:
            return invitation_stream(command.invitation_id)
        return contact_stream(command.contact_id)
    if isinstance(command, SubmitOrder):
        return order_stream(command.order_id)
    if isinstance(command, RevokeCredential):
        return credential_stream(command.credential_id)
    raise TypeError(f"{type(command).__name__} is not a portal command")


def _refused(env: Envelope[Message], stream_id: str, *errors: FieldError) -> Decision:
    return Decision(stream_id, env.company, errors=list(errors))


async def _upsert_contact(state: CommandState, env: Envelope[Message], _now: datetime) -> Decision:
    command = env.payload
    assert isinstance(command, UpsertContact)
    stream = contact_stream(command.contact_id)
    caller = await state.caller_for_actor(command.issued_by)
    if not caller.may_manage_contacts:
        message = "only an administrator may create or change contacts"
        return _refused(env, stream, FieldError(field="issued_by", message=message))
    current = await state.contact(command.contact_id)
    contact = Contact(
        contact_id=command.contact_id,
        # SCM numbers contact persons: a portal edit keeps the number SCM gave.
        contact_person_id=current.contact_person_id if current else None,
        first_name=command.firstname,
        last_name=command.lastname,
        email=command.email,
        company=command.company,
        account_number=command.account_number,
        price_list=command.price_list,
        currency=command.currency,
        ship_to_country=command.ship_to_country,
        language=command.language,
        phone=current.phone if current else None,
        web_roles=sorted(set(command.web_roles)),
    )
    return Decision(stream, contact.company or env.company, [ContactUpserted(contact=contact)])


async def _invite_contact(state: CommandState, env: Envelope[Message], _now: datetime) -> Decision:
    command = env.payload
    assert isinstance(command, InviteContact)
    stream = invitation_stream(command.invitation_id)
    caller = await state.caller_for_actor(command.issued_by)
    contact = await state.contact(command.contact_id)
    problems = invitation_problems(
        caller, contact, kind=command.kind, max_redemptions=command.max_redemptions
    )
    if await state.invitation(command.invitation_id) is not None:
        problems.append(FieldError(field="invitation_id", message="this invitation exists"))
    if await state.invitation_by_code_hash(command.code_hash) is not None:
        problems.append(FieldError(field="code_hash", message="this code is in use"))
    if problems:
        return _refused(env, stream, *problems)
    assert contact is not None and contact.company is not None
    issued = InvitationIssued(
        invitation_id=command.invitation_id,
        contact_id=command.contact_id,
        kind=command.kind,
        max_redemptions=command.max_redemptions,
        code_hash=command.code_hash,
        expires_at=command.expires_at,
    )
    return Decision(stream, contact.company, [issued])


async def _redeem_invitation(
    state: CommandState, env: Envelope[Message], now: datetime
) -> Decision:
    command = env.payload
    assert isinstance(command, RedeemInvitation)
    if command.code_hash is None:
        # Naming an invitation is not knowing its code: the code's hash is the proof.
        message = "a redemption carries the code's hash"
        return _refused(
            env, aggregate_stream(command), FieldError(field="code_hash", message=message)
        )
    invitation = await state.invitation_by_code_hash(command.code_hash)
    if command.invitation_id is not None and (
        invitation is None or invitation.invitation_id != command.invitation_id
    ):
        invitation = None  # the code is not this invitation's: as unknown as a wrong code
    stream = (
        invitation_stream(invitation.invitation_id) if invitation else aggregate_stream(command)
    )
    # Judged now, by the processor's clock: the envelope's occurred_at is the sender's claim.
    # (A redelivery is not decided again: its outcome is recorded with its events.)
    refusal = redemption_refusal(invitation, now, command.contact_id)
    if refusal is not None:
        return _refused(env, stream, FieldError(field="code", message=refusal.message))
    assert invitation is not None
    if await state.caller_for_credential(command.credential_hash) is not None:
        message = "this credential is in use"
        return _refused(env, stream, FieldError(field="credential_hash", message=message))
    contact = await state.contact(invitation.contact_id)
    redeemed = InvitationRedeemed(
        invitation_id=invitation.invitation_id,
        contact_id=invitation.contact_id,
        credential_hash=command.credential_hash,
        redemption=invitation.redemptions + 1,
        expires_at=command.credential_expires_at,
    )
    company = (contact.company if contact else None) or env.company
    return Decision(stream, company, [redeemed])


async def _revoke_credential(
    state: CommandState, env: Envelope[Message], _now: datetime
) -> Decision:
    command = env.payload
    assert isinstance(command, RevokeCredential)
    stream = credential_stream(command.credential_id)
    caller = await state.caller_for_actor(command.issued_by)
    credential = await state.credential(command.credential_id)
    problems = revocation_problems(caller, command.contact_id, credential)
    if problems:
        return _refused(env, stream, *problems)
    contact = await state.contact(command.contact_id)
    revoked = CredentialRevoked(
        contact_id=command.contact_id,
        credential_id=command.credential_id,
        revoked_by=command.issued_by,
    )
    return Decision(stream, (contact.company if contact else None) or env.company, [revoked])


async def _submit_order(state: CommandState, env: Envelope[Message], _now: datetime) -> Decision:
    command = env.payload
    assert isinstance(command, SubmitOrder)
    stream = order_stream(command.order_id)
    if "OrderSubmitted" in await state.stream_event_types(stream):
        message = "an order with this id was submitted before"
        return _refused(env, stream, FieldError(field="order_id", message=message))
    caller = await state.caller_for_actor(command.issued_by)
    if caller.contact_id is not None and caller.contact_id != command.contact_id:
        message = "a contact orders as themselves"
        return _refused(env, stream, FieldError(field="contact_id", message=message))
    # The bootstrap admin has no record; it may name a contact to order for (or the nil UUID).
    contact = await state.contact(command.contact_id)
    customer = ordering_customer(command, caller, contact)
    account = None
    catalog = None
    if customer.company and customer.account_number:
        account = await state.customer_account(customer.company, customer.account_number)
    if customer.company:
        wanted = sorted({line.product_number for line in command.lines})
        catalog = await state.catalog(customer.company, wanted)
    order = build_sales_order(command, caller, contact, account, catalog or Catalog())
    if isinstance(order, list):
        return _refused(env, stream, *order)
    assert order.company is not None
    return Decision(stream, order.company, [OrderSubmitted(order=order, submitted_by=caller.actor)])


Handler = Callable[[CommandState, Envelope[Message], datetime], Awaitable[Decision]]

HANDLERS: Final[Mapping[str, Handler]] = {
    UpsertContact.message_type: _upsert_contact,
    InviteContact.message_type: _invite_contact,
    RedeemInvitation.message_type: _redeem_invitation,
    SubmitOrder.message_type: _submit_order,
    RevokeCredential.message_type: _revoke_credential,
}


async def decide(state: CommandState, env: Envelope[Message], now: datetime) -> Decision:
    """The decision on one portal command, against the state the unit of work sees, at `now`
    (the processor's clock: what expires is judged by it, never by the command's own time)."""
    handler = HANDLERS.get(env.type)
    if handler is None:
        raise TypeError(f"{env.type} is not a portal command")
    return await handler(state, env, now)
