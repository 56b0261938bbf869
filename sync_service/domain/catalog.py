"""What an order is priced from: one company's products and its price-list prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from contracts.cds import Product

__all__ = ["Catalog", "sales_units"]


def sales_units(product: Product) -> dict[str, Decimal]:
    """Every unit the product sells in -> its factor to the default unit."""
    units = {unit.symbol: unit.factor for unit in product.units}
    # A product that lists no units still sells in its default unit.
    if product.default_unit and product.default_unit not in units:
        units[product.default_unit] = Decimal(1)
    return units


@dataclass(frozen=True, slots=True)
class Catalog:
    """Products by number and prices by (price list, product number, unit), of one company."""

    products: Mapping[str, Product] = field(default_factory=dict)
    prices: Mapping[tuple[str, str, str], Decimal] = field(default_factory=dict)

    def product(self, product_number: str) -> Product | None:
        """The released product with this number, if there is one."""
        return self.products.get(product_number)

    def unit_price(self, price_list: str, product_number: str, unit: str) -> Decimal | None:
        """The price of one `unit`: the price list's, else the list price scaled to the unit."""
        price = self.prices.get((price_list, product_number, unit))
        if price is not None:
            return price
        product = self.products.get(product_number)
        if product is None or product.price is None:
            return None
        # MAPPINGS.md: the list price is per default unit and "used when the price list has
        # none"; a box of 12 then costs 12 list prices.
        factor = sales_units(product).get(unit)
        return None if factor is None else product.price * factor
