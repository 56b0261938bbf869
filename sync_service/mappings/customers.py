"""CustomersV3 = account (MAPPINGS.md), key (company, CustomerAccount = accountnumber)."""

from __future__ import annotations

from typing import Final

from sync_service.mappings.engine import Constant, Default, Direction, EntityMap, Required
from sync_service.mappings.engine import FieldMap as F

__all__ = ["CUSTOMER_MAP"]

_B, _S, _C = Direction.BOTH, Direction.TO_SCM, Direction.TO_CDS

CUSTOMER_MAP: Final = EntityMap(
    name="CustomersV3",
    fields=(
        F("CustomerAccount", _B, "accountnumber", Required.BOTH),
        F("OrganizationName", _B, "name", Required.BOTH),
        F("SalesCurrencyCode", _B, "transactioncurrencyid.isocurrencycode", Required.BOTH),
        F("CustomerGroupId", _B, "msdyn_customergroupid", Required.SCM, to_scm=Default("10")),
        F("PartyType", _S, None, Required.SCM, to_scm=Constant("Organization")),
        F("LanguageId", _B, "msdyn_languageid", to_scm=Default("en-us")),
        F("PriceCustomerGroupCode", _B, "defaultpricelevelid.name"),
        F("DeliveryAddressStreet", _B, "address1_line1"),
        F("DeliveryAddressCity", _B, "address1_city"),
        F("DeliveryAddressZipCode", _B, "address1_postalcode"),
        F("DeliveryAddressCountryRegionISOCode", _B, "address1_country"),
        F("PrimaryContactEmail", _B, "emailaddress1"),
        F("CreditLimit", _C, "creditlimit"),
    ),
)
"""Customer accounts; SCM owns the credit limit."""
