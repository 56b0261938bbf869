"""The catalog as a signed-in contact may order from it: units and their price-list prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from contracts.bounds import Code
from portal_api.auth import SignedInCaller
from portal_api.catalog import products_for_caller
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_PARAMETERS
from portal_api.schemas import ProductView

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
    return await products_for_caller(request.app.state.reader, caller, company, price_list)
