"""Property: CDS -> SCM -> CDS gives back every field that travels both ways."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_service.mappings import MAPS, EntityMap
from sync_service.mappings.engine import Direction, to_cds, to_scm
from sync_service.mappings.sales_orders import PRODUCT_SITE, PRODUCT_WAREHOUSE, STATUS_TO_SCM

_VALUES = st.one_of(
    st.text(min_size=1).filter(str.strip),
    st.integers(min_value=1),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(min_value=date(2000, 1, 1)),
)
_SPECIAL = {"msdyn_processingstatus": st.sampled_from(sorted(STATUS_TO_SCM))}
_COMPANY = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=4)


def _both_ways(entity: EntityMap) -> list[str]:
    return [f.cds for f in entity.fields if f.direction is Direction.BOTH and f.cds is not None]


def _record(entity: EntityMap) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: _SPECIAL.get(name, _VALUES) for name in _both_ways(entity)}
    children = {child.cds: st.lists(_record(child.entity), max_size=3) for child in entity.children}
    return st.fixed_dictionaries({**fields, **children})


def _check(entity: EntityMap, sent: dict[str, Any], back: dict[str, Any]) -> None:
    for name in _both_ways(entity):
        assert back[name] == sent[name], name
    for child in entity.children:
        assert len(back[child.cds]) == len(sent[child.cds])
        for one, other in zip(sent[child.cds], back[child.cds], strict=True):
            _check(child.entity, one, other)


@pytest.mark.parametrize("map_name", ["CustomersV3", "ContactPersonsV2", "SalesOrderHeaders"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), company=_COMPANY)
def test_cds_to_scm_to_cds_gives_back_every_both_ways_field(
    map_name: str, data: st.DataObject, company: str
) -> None:
    entity = MAPS[map_name]
    sent = data.draw(_record(entity)) | {"msdyn_company": company}
    products = {line["productid.msdyn_productnumber"] for line in sent.get("lines", [])}
    lookups = {
        PRODUCT_SITE: dict.fromkeys(products, "1"),
        PRODUCT_WAREHOUSE: dict.fromkeys(products, "11"),
    }
    scm = to_scm(entity, sent, lookups)
    if map_name == "SalesOrderHeaders":
        scm["SalesOrderNumber"] = "SO-1"  # SCM numbers the order before it answers
    back = to_cds(entity, scm)
    assert back["msdyn_company"] == company
    _check(entity, sent, back)


def test_the_property_sees_a_lost_field() -> None:
    entity = MAPS["CustomersV3"]
    sent = {name: "x" for name in _both_ways(entity)} | {"msdyn_company": "usmf"}
    scm = to_scm(entity, sent)
    scm["LanguageId"] = "fr"
    with pytest.raises(AssertionError, match="msdyn_languageid"):
        _check(entity, sent, to_cds(entity, scm))


def test_decimal_quantities_survive_exactly() -> None:
    entity = MAPS["SalesOrderHeaders"]
    line: dict[str, Any] = {name: "x" for name in _both_ways(entity.children[0].entity)}
    line["quantity"] = Decimal("0.10")
    sent = {name: "x" for name in _both_ways(entity)} | {"msdyn_company": "usmf", "lines": [line]}
    sent["msdyn_processingstatus"] = "confirmed"
    lookups = {PRODUCT_SITE: {"x": "1"}, PRODUCT_WAREHOUSE: {"x": "11"}}
    scm = to_scm(entity, sent, lookups) | {"SalesOrderNumber": "SO-1"}
    assert to_cds(entity, scm)["lines"][0]["quantity"] == Decimal("0.10")
