"""The catalog as a caller may order from it: what `GET /products` and the order wizard share."""

from __future__ import annotations

from contracts.errors import FieldError
from portal_api.problems import Problem
from portal_api.schemas import ProductView, UnitPrice
from sync_service.domain.roles import Caller
from sync_service.writemodel.base import WriteModelReader

__all__ = ["products_for_caller"]


async def products_for_caller(
    reader: WriteModelReader,
    caller: Caller,
    company: str | None = None,
    price_list: str | None = None,
) -> list[ProductView]:
    """Products of the caller's company (an Administrator may name another company or price
    list) with the caller's price-list price per unit; a Problem when there is no company."""
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
