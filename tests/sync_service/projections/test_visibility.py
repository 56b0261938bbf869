"""Who sees which order: random customers, contacts, roles and orders against the rules.

The rules are stated once more below, plainly and independently of sync_service: the pure
OrderScope is checked on many draws, and the SQL filter (on the real PostgreSQL) on fewer.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.domain.roles import Caller
from sync_service.domain.visibility import OrderScope, order_scope
from sync_service.projections.queries import OrderFilter, list_orders
from sync_service.projections.tables import order_views

ROLES = ("administrator", "customer_representative", "authorized_user")
CUSTOMERS = [(company, account) for company in ("usmf", "demf") for account in ("C-1", "C-2")]


@dataclass(frozen=True)
class Person:
    contact_id: uuid.UUID
    roles: frozenset[str]
    customer: tuple[str, str] | None


@dataclass(frozen=True)
class Order:
    order_id: uuid.UUID
    customer: tuple[str, str]
    orderer: uuid.UUID | None


def should_see(person: Person, order: Order) -> bool:
    """SPEC §3: an Administrator sees every order; a Customer representative every order of
    their own customer; an Authorized user the orders they placed; nobody else anything."""
    if "administrator" in person.roles:
        return True
    if "customer_representative" in person.roles and person.customer == order.customer:
        return True
    return "authorized_user" in person.roles and order.orderer == person.contact_id


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Person], list[Order]]:
    people = [
        Person(
            uuid.uuid4(),
            frozenset(draw(st.sets(st.sampled_from(ROLES)))),
            draw(st.none() | st.sampled_from(CUSTOMERS)),
        )
        for _ in range(draw(st.integers(1, 6)))
    ]
    orderers = st.none() | st.sampled_from([person.contact_id for person in people])
    orders = [
        Order(uuid.uuid4(), draw(st.sampled_from(CUSTOMERS)), draw(orderers))
        for _ in range(draw(st.integers(0, 8)))
    ]
    return people, orders


def _scope(person: Person) -> OrderScope:
    company, account = person.customer or (None, None)
    return order_scope(Caller.contact(person.contact_id, list(person.roles)), company, account)


@given(worlds())
@settings(max_examples=300)
def test_each_callers_view_follows_the_rules(world: tuple[list[Person], list[Order]]) -> None:
    people, orders = world
    for person in people:
        scope = _scope(person)
        seen = {o.order_id for o in orders if scope.includes(*o.customer, o.orderer)}
        assert seen == {o.order_id for o in orders if should_see(person, o)}
    anonymous = order_scope(Caller.anonymous(), None, None)
    assert anonymous.nothing
    assert order_scope(Caller.bootstrap_admin(), None, None).everything


def _random_world(rng: random.Random) -> tuple[list[Person], list[Order]]:
    """A world drawn like `worlds()`, for the database check (hypothesis drives sync tests)."""
    people = [
        Person(
            uuid.uuid4(),
            frozenset(role for role in ROLES if rng.random() < 0.4),
            rng.choice([None, *CUSTOMERS]),
        )
        for _ in range(rng.randint(1, 6))
    ]
    orderers = [None, *(person.contact_id for person in people)]
    orders = [
        Order(uuid.uuid4(), rng.choice(CUSTOMERS), rng.choice(orderers))
        for _ in range(rng.randint(0, 8))
    ]
    return people, orders


@pytest.mark.integration
@pytest.mark.parametrize("seed", range(20))
async def test_the_sql_filter_follows_the_rules(engine: AsyncEngine, seed: int) -> None:
    people, orders = _random_world(random.Random(seed))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "order_id": order.order_id,
            "status": "pending",
            "company": order.customer[0],
            "customer_account": order.customer[1],
            "orderer_contact_id": order.orderer,
            "origin": "portal",
            "submitted_at": start + timedelta(minutes=n),
            "updated_at": start,
        }
        for n, order in enumerate(orders)
    ]
    async with engine.begin() as connection:
        await connection.execute(delete(order_views))
        if rows:
            await connection.execute(insert(order_views), rows)
    async with engine.connect() as connection:
        for person in people:
            page, _ = await list_orders(
                connection, _scope(person), filters=OrderFilter(), limit=100
            )
            assert {view.order_id for view in page} == {
                o.order_id for o in orders if should_see(person, o)
            }
