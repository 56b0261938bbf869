"""Which orders a caller sees (SPEC §3, web roles): pure rules, with no database in sight.

Decided per request from the caller's current contact record, so a change of role or of
account applies to the next request. The read-model queries turn an `OrderScope` into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sync_service.domain.roles import AUTHORIZED_USER, Caller

__all__ = ["OrderScope", "order_scope"]


@dataclass(frozen=True, slots=True)
class OrderScope:
    """All orders, or those of one customer account and/or those the caller placed."""

    everything: bool = False
    customer: tuple[str, str] | None = None
    """(company, account number) of the customer whose every order is visible."""
    orderer: UUID | None = None
    """The contact whose own orders are visible."""

    @property
    def nothing(self) -> bool:
        """Whether no order at all is visible."""
        return not self.everything and self.customer is None and self.orderer is None

    def includes(
        self, company: str | None, customer_account: str | None, orderer: UUID | None
    ) -> bool:
        """Whether an order of this customer, placed by `orderer`, is visible."""
        if self.everything:
            return True
        if self.customer is not None and (company, customer_account) == self.customer:
            return True
        return self.orderer is not None and orderer == self.orderer


def order_scope(caller: Caller, company: str | None, account_number: str | None) -> OrderScope:
    """The orders `caller` sees, given its contact's current company and account number."""
    if caller.is_admin:
        return OrderScope(everything=True)
    customer = None
    if caller.is_customer_representative and company and account_number:
        customer = (company, account_number)
    orderer = caller.contact_id if AUTHORIZED_USER in caller.web_roles else None
    return OrderScope(customer=customer, orderer=orderer)
