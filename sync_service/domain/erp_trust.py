"""What the ERP side may change (docs/mappings.md): pure rules over the records at stake.

The ERP owns its own records (orders it takes, their statuses, its contact persons), but not
who sees what in the portal. So an ERP record may not make a portal contact the orderer of
another customer's order, move a contact that holds web roles to another customer, or change
an order of another company. The inbound mapping asks these rules and dead-letters what they
refuse, naming why, for an administrator to settle.
"""

from __future__ import annotations

from uuid import UUID

from contracts.cds import Contact, SalesOrder
from contracts.errors import FieldError

__all__ = ["contact_move_refusal", "named_portal_contact", "orderer_refusal", "status_refusal"]


def named_portal_contact(contact_person_id: str | None) -> UUID | None:
    """The portal contact an order's contact person names: its id, as the read model links it.

    An SCM contact person number names no portal contact; nor does the nil id.
    """
    if not contact_person_id:
        return None
    try:
        contact_id = UUID(contact_person_id)
    except ValueError:
        return None
    return contact_id if contact_id.int != 0 else None


def orderer_refusal(order: SalesOrder, contact: Contact | None) -> str | None:
    """Why the contact an ERP order names may not be its orderer; None when it may.

    Only a contact of the order's own company and customer account may be: otherwise the ERP
    could show one customer's order to another customer's contact.
    """
    if contact is None:
        return f"no portal contact {order.contact_person_id}"
    if (contact.company, contact.account_number) != (order.company, order.customer_account):
        return (
            f"contact {contact.contact_id} is of {_customer(contact)}, "
            f"not of the order's customer {order.company}/{order.customer_account}"
        )
    return None


def contact_move_refusal(existing: Contact | None, incoming: Contact) -> FieldError | None:
    """Why an ERP change of a contact's company or customer account is not applied; None if it is.

    A contact that holds web roles sees its customer's orders and contacts: moving it to
    another customer is the portal administrator's decision, never the ERP's alone.
    """
    if existing is None or not existing.web_roles:
        return None
    before = (existing.company, existing.account_number)
    if before == (incoming.company, incoming.account_number):
        return None
    field = "dataAreaId" if existing.company != incoming.company else "AssociatedContactNumber"
    roles = ", ".join(existing.web_roles)
    message = (
        f"the ERP moves contact {existing.contact_id} ({_name(existing)}), who holds the web "
        f"roles {roles}, from customer {_customer(existing)} to {_customer(incoming)}: not "
        "applied. To accept the move, change the contact in the portal (its customer, or take "
        "its web roles away) and redrive this dead letter; to refuse it, correct the contact "
        "in the ERP and discard this dead letter"
    )
    return FieldError(field=field, message=message)


def status_refusal(order_company: str, record_company: str) -> FieldError | None:
    """Why an ERP status change of an order is refused: the order is of another company."""
    if order_company == record_company:
        return None
    message = (
        f"the order belongs to company {order_company}, not {record_company}: "
        "the ERP changes only its own company's orders"
    )
    return FieldError(field="dataAreaId", message=message)


def _customer(contact: Contact) -> str:
    return f"{contact.company or '(no company)'}/{contact.account_number or '(no account)'}"


def _name(contact: Contact) -> str:
    return " ".join(p for p in (contact.first_name, contact.last_name) if p) or "no name"
