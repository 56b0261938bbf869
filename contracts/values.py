"""Value types shared by the contracts: company code, roles, statuses, hashes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from contracts.bounds import CODE_MAX, SINGLE_LINE_PATTERN

__all__ = [
    "Actor",
    "CompanyCode",
    "InvitationKind",
    "OrderSyncStatus",
    "Origin",
    "SecretHash",
    "WebRole",
]

# A legal entity (`msdyn_company` / `dataAreaId`), e.g. `usmf`; SCM treats it case-insensitively,
# so it is normalised to lower case rather than refused.
CompanyCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=CODE_MAX,
        pattern=SINGLE_LINE_PATTERN,
    ),
]

# Who acted: a contact id (UUID text) or `admin` for the bootstrap administrator credential.
Actor = Annotated[
    str, StringConstraints(min_length=1, max_length=CODE_MAX, pattern=SINGLE_LINE_PATTERN)
]

# Invitation codes and credentials never travel in clear: only their hashes do.
SecretHash = Annotated[
    str, StringConstraints(min_length=1, max_length=CODE_MAX, pattern=SINGLE_LINE_PATTERN)
]

Origin = Literal["portal", "scm"]
WebRole = Literal["administrator", "customer_representative", "authorized_user"]
InvitationKind = Literal["single", "group"]
OrderSyncStatus = Literal[
    "pending", "synced", "confirmed", "shipped", "invoiced", "sync_failed", "canceled"
]
