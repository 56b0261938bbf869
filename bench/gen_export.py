"""A generated SCM export for `dualsync initial-sync`: customers, products, prices and orders.

The files are the ones `initial-sync` reads (sync_service.mappings.scm_export): CustomersV3.csv,
ReleasedProducts.jsonl, SalesPriceAgreements.csv and SalesOrderHeaders.jsonl (lines nested),
all of company `usmf`. Every row is valid and every order names a customer and products of the
export, so a load of it dead-letters nothing. The same seed writes the same files.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path
from typing import Any, Final

__all__ = ["SHARES", "write_export"]

SHARES: Final = {"customers": 0.05, "products": 0.05, "prices": 0.60, "orders": 0.30}
"""The share of each entity in the rows of an export."""
_COMPANY: Final = "usmf"
_UNITS: Final = (("ea", "1"), ("box", "12"), ("pal", "480"))
_STATUSES: Final = ("Active", "Confirmed", "Delivered", "Invoiced")


def _counts(rows: int) -> dict[str, int]:
    counts = {name: max(1, int(rows * share)) for name, share in SHARES.items()}
    counts["prices"] += rows - sum(counts.values())  # the rounding remainder
    return counts


def _price_lists(customers: int) -> list[str]:
    return [f"PL-{n:03d}" for n in range(1, max(2, customers // 100) + 1)]


def _customers(count: int, price_lists: list[str], rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "dataAreaId": _COMPANY,
            "CustomerAccount": f"C-{n:06d}",
            "OrganizationName": f"Customer {n} Inc.",
            "SalesCurrencyCode": "USD",
            "CustomerGroupId": "10",
            "PartyType": "Organization",
            "LanguageId": "en-us",
            "PriceCustomerGroupCode": price_lists[n % len(price_lists)],
            "DeliveryAddressStreet": f"{rng.randint(1, 999)} Main Street",
            "DeliveryAddressCity": rng.choice(("Seattle", "Portland", "Denver", "Austin")),
            "DeliveryAddressZipCode": f"{rng.randint(10000, 99999)}",
            "DeliveryAddressCountryRegionISOCode": "US",
            "PrimaryContactEmail": f"orders@customer{n}.example",
        }
        for n in range(1, count + 1)
    ]


def _products(count: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "dataAreaId": _COMPANY,
            "ProductNumber": f"P-{n:06d}",
            "ProductName": f"Product {n}",
            "SalesUnitSymbol": "ea",
            "SalesUnits": [{"Symbol": s, "Factor": f} for s, f in _UNITS],
            "SalesPrice": f"{rng.randint(100, 99_999) / 100:.2f}",
            "DefaultShippingSiteId": "1",
            "DefaultShippingWarehouseId": "11",
        }
        for n in range(1, count + 1)
    ]


def _prices(
    count: int, products: list[dict[str, Any]], price_lists: list[str], rng: random.Random
) -> list[dict[str, str]]:
    # Distinct keys (price list, product, unit), as many as asked, spread over the products.
    keys = [(pl, unit) for pl in price_lists for unit, _ in _UNITS]
    rows = []
    for n in range(count):
        product = products[n % len(products)]
        price_list, unit = keys[(n // len(products)) % len(keys)]
        if n >= len(products) * len(keys):  # more prices than keys: extra price lists
            price_list = f"{price_list}-X{n // (len(products) * len(keys))}"
        rows.append(
            {
                "dataAreaId": _COMPANY,
                "PriceCustomerGroupCode": price_list,
                "ProductNumber": product["ProductNumber"],
                "QuantityUnitSymbol": unit,
                "Price": f"{rng.randint(50, 99_999) / 100:.2f}",
                "PriceCurrencyCode": "USD",
            }
        )
    return rows


def _orders(
    count: int,
    customers: list[dict[str, str]],
    products: list[dict[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, count + 1):
        customer = rng.choice(customers)
        number = f"{_COMPANY}-{n:07d}"
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines = []
        for sequence in range(1, rng.randint(1, 5) + 1):
            product = rng.choice(products)
            quantity, price = rng.randint(1, 50), rng.randint(100, 9_999) / 100
            lines.append(
                {
                    "SalesOrderNumber": number,
                    "LineCreationSequenceNumber": sequence,
                    "ProductNumber": product["ProductNumber"],
                    "OrderedSalesQuantity": str(quantity),
                    "SalesUnitSymbol": "ea",
                    "SalesPrice": f"{price:.2f}",
                    "LineAmount": f"{quantity * price:.2f}",
                    "DeliveryAddressCountryRegionISOCode": "US",
                    "DeliveryAddressDescription": f"{customer['OrganizationName']} warehouse",
                    "RequestedReceiptDate": date,
                    "ShippingSiteId": "1",
                    "ShippingWarehouseId": "11",
                }
            )
        total = sum(float(line["LineAmount"]) for line in lines)
        rows.append(
            {
                "dataAreaId": _COMPANY,
                "SalesOrderNumber": number,
                "SalesOrderName": f"Order {n}",
                "OrderingCustomerAccountNumber": customer["CustomerAccount"],
                "InvoiceCustomerAccountNumber": customer["CustomerAccount"],
                "CurrencyCode": "USD",
                "PriceCustomerGroupCode": customer["PriceCustomerGroupCode"],
                "LanguageId": "en-us",
                "DeliveryAddressCountryRegionISOCode": "US",
                "DeliveryAddressDescription": f"{customer['OrganizationName']} warehouse",
                "DeliveryAddressStreet": customer["DeliveryAddressStreet"],
                "DeliveryAddressCity": customer["DeliveryAddressCity"],
                "DeliveryAddressZipCode": customer["DeliveryAddressZipCode"],
                "RequestedReceiptDate": date,
                "SalesOrderProcessingStatus": rng.choice(_STATUSES),
                "OrderTotalAmount": f"{total:.2f}",
                "lines": lines,
            }
        )
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.writelines(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


def write_export(directory: Path | str, rows: int, seed: int = 7) -> dict[str, int]:
    """Write an export of `rows` rows into `directory`; the number of rows of each entity."""
    if rows < len(SHARES):
        raise ValueError(f"an export needs at least {len(SHARES)} rows, not {rows}")
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
    counts = _counts(rows)
    price_lists = _price_lists(counts["customers"])
    customers = _customers(counts["customers"], price_lists, rng)
    products = _products(counts["products"], rng)
    _write_csv(target / "CustomersV3.csv", customers)
    _write_jsonl(target / "ReleasedProducts.jsonl", products)
    _write_csv(
        target / "SalesPriceAgreements.csv", _prices(counts["prices"], products, price_lists, rng)
    )
    _write_jsonl(
        target / "SalesOrderHeaders.jsonl", _orders(counts["orders"], customers, products, rng)
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.gen_export DIR --rows N [--seed S]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.gen_export", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = write_export(args.directory, args.rows, args.seed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
