"""ContactPersonsV2 = contact (MAPPINGS.md), key (company, ContactPersonId)."""

from __future__ import annotations

from typing import Final

from sync_service.mappings.engine import Constant, Direction, EntityMap, Required
from sync_service.mappings.engine import FieldMap as F

__all__ = ["CONTACT_MAP"]

_B, _S, _C = Direction.BOTH, Direction.TO_SCM, Direction.TO_CDS

# Portal-only fields (msdyn_pricelevelid, msdyn_shiptocountryregion, adx_webroles) are not here:
# a field that is not in the map is never synced.
CONTACT_MAP: Final = EntityMap(
    name="ContactPersonsV2",
    fields=(
        F("ContactPersonId", _B, "msdyn_contactpersonid", Required.SCM, numbered_by_scm=True),
        # Not a MAPPINGS row: names an unnumbered contact so that SCM can answer with its id.
        F("CDSContactId", _B, "contactid"),
        F("AssociatedContactNumber", _B, "parentcustomerid.accountnumber", Required.BOTH),
        F("AssociatedContactType", _S, None, Required.SCM, to_scm=Constant("Customer")),
        F("FirstName", _B, "firstname"),
        F("LastName", _B, "lastname", Required.BOTH),
        F("PrimaryEmailAddress", _B, "emailaddress1"),
        F("PrimaryPhoneNumber", _B, "telephone1"),
        F("LanguageId", _B, "msdyn_languageid"),
    ),
)
"""Customer contacts."""
