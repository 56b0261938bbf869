"""Who is calling: the web roles of SPEC §3 and what each one may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

__all__ = [
    "ADMINISTRATOR",
    "AUTHORIZED_USER",
    "BOOTSTRAP_ACTOR",
    "CUSTOMER_REPRESENTATIVE",
    "ORDERING_ROLES",
    "Caller",
]

ADMINISTRATOR: Final = "administrator"
CUSTOMER_REPRESENTATIVE: Final = "customer_representative"
AUTHORIZED_USER: Final = "authorized_user"
ORDERING_ROLES: Final = frozenset({ADMINISTRATOR, CUSTOMER_REPRESENTATIVE, AUTHORIZED_USER})

BOOTSTRAP_ACTOR: Final = "admin"
"""The `issued_by` of commands sent with the bootstrap administrator credential."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind a request: a contact with its current web roles, or the bootstrap admin."""

    contact_id: UUID | None = None
    web_roles: frozenset[str] = field(default_factory=frozenset)
    is_bootstrap_admin: bool = False

    @classmethod
    def anonymous(cls) -> Caller:
        """No credential: the Unauthorized user."""
        return cls()

    @classmethod
    def bootstrap_admin(cls) -> Caller:
        """The holder of `DUALSYNC_ADMIN_TOKEN`: an Administrator with no contact record."""
        return cls(is_bootstrap_admin=True)

    @classmethod
    def contact(cls, contact_id: UUID, web_roles: frozenset[str] | list[str]) -> Caller:
        """A signed-in contact with the web roles its record has now."""
        return cls(contact_id=contact_id, web_roles=frozenset(web_roles))

    @property
    def is_admin(self) -> bool:
        """May see everything and administer contacts and invitations."""
        return self.is_bootstrap_admin or ADMINISTRATOR in self.web_roles

    @property
    def is_customer_representative(self) -> bool:
        """Sees every order of its own customer account."""
        return CUSTOMER_REPRESENTATIVE in self.web_roles

    @property
    def is_authorized(self) -> bool:
        """False for the Unauthorized user: no credential, or a contact without a web role."""
        return self.is_bootstrap_admin or bool(self.web_roles & ORDERING_ROLES)

    @property
    def may_submit_orders(self) -> bool:
        """Administrator, Customer representative or Authorized user."""
        return self.is_bootstrap_admin or bool(self.web_roles & ORDERING_ROLES)

    @property
    def may_manage_contacts(self) -> bool:
        """Create and change contact records and their web roles."""
        return self.is_admin

    @property
    def may_invite(self) -> bool:
        """Only an Administrator invites (there is no self-registration)."""
        return self.is_admin

    @property
    def actor(self) -> str:
        """The `issued_by` / `submitted_by` text of this caller's commands."""
        if self.contact_id is not None:
            return str(self.contact_id)
        return BOOTSTRAP_ACTOR if self.is_bootstrap_admin else "anonymous"
