"""The catalog as a signed-in contact may order from it: units and their price-list prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from contracts.bounds import Code
from contracts.errors import FieldError
from portal_api.auth import SignedInCaller
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_PARAMETERS
from portal_api.problems import Problem
from portal_api.schemas import ProductView, UnitPrice
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = APIRouter(tags=["catalog"], responses=NEEDS_STORE)


@router.get(
    "/products", response_model=list[ProductView], responses={**SIGNED_IN, **WITH_PARAMETERS}
)
async def products(
    caller: SignedInCaller,
    request: Request,
    # Codes, as stored: never text that no lookup could use (NUL).
    company: Annotated[
        Code | None, Query(min_length=1, description="administrators: the legal entity")
    ] = None,
    price_list: Annotated[
        Code | None, Query(min_length=1, description="administrators: the price list")
    ] = None,
) -> list[ProductView]:
    """Products of the caller's company with the caller's price-list price per unit."""
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(caller.contact_id) if caller.contact_id else None
    if (company or price_list) and not caller.is_admin:
        raise Problem(403, "only an Administrator may look at another company or price list")
    company = company or (contact.company if contact else None)
    price_list = price_list or (contact.price_list if contact else None)
    currency = contact.currency if contact else None
    if not company:
        raise Problem(
            422,
            "no company to show products of",
            errors=[FieldError(field="company", message="set it on the contact or the query")],
        )
    offers = await reader.products_for(company.lower(), price_list)
    return [
        ProductView(
            product_number=offer.product_number,
            name=offer.name,
            default_unit=offer.default_unit,
            units=[
                UnitPrice(unit=unit, factor=factor, price=offer.prices.get(unit))
                for unit, factor in sorted(offer.units.items())
            ],
            currency=currency,
        )
        for offer in offers
    ]
