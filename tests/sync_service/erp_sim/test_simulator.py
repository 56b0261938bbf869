"""The ERP simulator numbers portal orders once per legal entity and plays their statuses back."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.scm import SalesOrderHeader
from contracts.topics import SCM_INBOUND, SCM_SALESORDERS
from sync_service.db.engine import create_engine
from sync_service.erp_sim import CONSUMER_GROUP, Handled, StatusDelays, running_erp_sim
from sync_service.erp_sim.lifecycle import answer_message_id
from sync_service.erp_sim.order_book import sales_orders
from sync_service.settings import Settings
from tests.kafka_offsets import until_consumed
from tests.sync_service.erp_sim.wire import portal_order, read_until, send
from tests.sync_service.mappings.wire import send_raw

pytestmark = pytest.mark.integration

NO_STEPS = StatusDelays(confirm_after=0, ship_after=0, invoice_after=0)
Answers = list[tuple[bytes, Envelope[Message]]]


def _orders(answers: Answers) -> list[SalesOrderHeader]:
    orders = [env.payload for _, env in answers]
    assert all(isinstance(order, SalesOrderHeader) for order in orders)
    return orders  # type: ignore[return-value]  # checked just above


def _statuses_by_number(answers: Answers) -> dict[str, list[str | None]]:
    # One order's answers share a key, hence a partition: their order is the sending order.
    statuses: dict[str, list[str | None]] = {}
    for order in _orders(answers):
        statuses.setdefault(order.SalesOrderNumber or "", []).append(
            order.SalesOrderProcessingStatus
        )
    return statuses


def _count(n: int) -> Callable[[Answers], bool]:
    return lambda seen: len(seen) >= n


async def test_an_order_is_numbered_then_confirmed_delivered_and_invoiced_in_order(
    settings: Settings,
) -> None:
    order = portal_order()
    delays = StatusDelays(confirm_after=0.1, ship_after=0.2, invoice_after=0.3)
    async with running_erp_sim(settings, delays, tick_s=0.05):
        await send(settings, order)
        answers = await read_until(settings, SCM_INBOUND, _count(4), settle_s=1.0)

    cds_id = order.payload.CDSSalesOrderId
    assert [o.SalesOrderProcessingStatus for o in _orders(answers)] == [
        "Active",
        "Confirmed",
        "Delivered",
        "Invoiced",
    ]
    assert {(o.SalesOrderNumber, o.CDSSalesOrderId) for o in _orders(answers)} == {
        ("usmf-000001", cds_id)
    }
    assert {key for key, _ in answers} == {b"usmf/usmf-000001"}
    assert [env.message_id for _, env in answers] == [
        answer_message_id("usmf", cds_id, status)  # type: ignore[arg-type]
        for status in ("Active", "Confirmed", "Delivered", "Invoiced")
    ]
    assert all(env.origin == "scm" and env.company == "usmf" for _, env in answers)
    assert answers[0][1].correlation_id == order.correlation_id
    assert answers[0][1].causation_id == order.message_id
    first = _orders(answers)[0]
    assert first.lines[0].SalesOrderNumber == "usmf-000001"
    assert first.lines[0].LineAmount == Decimal("27.00")
    assert first.OrderTotalAmount == Decimal("27.00")


async def test_numbers_are_sequential_per_legal_entity(settings: Settings) -> None:
    usmf = [portal_order("usmf") for _ in range(3)]
    demf = [portal_order("demf") for _ in range(2)]
    async with running_erp_sim(settings, NO_STEPS, tick_s=0.05):
        await send(settings, *usmf, *demf)
        answers = await read_until(settings, SCM_INBOUND, _count(5), settle_s=0.5)

    numbers = {o.CDSSalesOrderId: o.SalesOrderNumber or "" for o in _orders(answers)}
    assert len(answers) == 5
    assert sorted(numbers[env.payload.CDSSalesOrderId] for env in usmf) == [
        "usmf-000001",
        "usmf-000002",
        "usmf-000003",
    ]
    assert sorted(numbers[env.payload.CDSSalesOrderId] for env in demf) == [
        "demf-000001",
        "demf-000002",
    ]
    # Orders of one company (one key each, but all on scm.salesorders.v1) keep their sending
    # order only within a partition, so only the set is fixed; each key got one answer.
    assert all(env.company == key.decode().split("/")[0] for key, env in answers)


async def test_a_redelivered_or_updated_order_keeps_its_number(settings: Settings) -> None:
    order = portal_order()
    update = envelope(
        order.payload.model_copy(update={"CustomerRequisitionNumber": "REQ-7"}),
        origin="portal",
        company="usmf",
    )
    from_scm = envelope(portal_order().payload, origin="scm", company="usmf")
    async with running_erp_sim(settings, NO_STEPS, tick_s=0.05) as simulator:
        await send(settings, order, order, update)
        await read_until(settings, SCM_INBOUND, _count(1), settle_s=1.0)
        assert await simulator.handle(to_json_bytes(order)) is Handled.KNOWN
        assert await simulator.handle(to_json_bytes(from_scm)) is Handled.IGNORED
        assert await simulator.handle(b"{not json") is Handled.IGNORED
        second = portal_order()
        await send(settings, second)
        answers = await read_until(settings, SCM_INBOUND, _count(2), settle_s=1.0)

    # Two keys may sit on two partitions, so the answers' order across them is not fixed.
    assert sorted((o.SalesOrderNumber, str(o.CDSSalesOrderId)) for o in _orders(answers)) == [
        ("usmf-000001", str(order.payload.CDSSalesOrderId)),
        ("usmf-000002", str(second.payload.CDSSalesOrderId)),
    ]


async def test_a_restarted_simulator_continues_numbering_and_pending_status_changes(
    settings: Settings,
) -> None:
    first = portal_order()
    slow = StatusDelays(confirm_after=3600, ship_after=0, invoice_after=0)
    async with running_erp_sim(settings, slow, tick_s=0.05):
        await send(settings, first)
        await read_until(settings, SCM_INBOUND, _count(1))

    # The stored order had Confirmed pending; the restarted simulator (shorter delay) sends it.
    fast = StatusDelays(confirm_after=0.1, ship_after=0, invoice_after=0)
    second = portal_order()
    async with running_erp_sim(settings, fast, tick_s=0.05):
        await send(settings, second)
        answers = await read_until(settings, SCM_INBOUND, _count(4), settle_s=1.0)

    assert _statuses_by_number(answers) == {
        "usmf-000001": ["Active", "Confirmed"],
        "usmf-000002": ["Active", "Confirmed"],
    }


async def test_an_order_the_order_book_cannot_store_is_passed_over_and_the_next_is_numbered(
    settings: Settings,
) -> None:
    poison, after = portal_order(), portal_order()
    # A NUL in the company: PostgreSQL's text cannot hold it (or the contract refuses it).
    raw = to_json_bytes(poison).replace(b'"dataAreaId":"usmf"', b'"dataAreaId":"us\\u0000mf"')
    assert raw != to_json_bytes(poison)
    key = f"usmf/{poison.payload.CDSSalesOrderId}"
    async with running_erp_sim(settings, NO_STEPS, tick_s=0.05):
        await send_raw(settings, SCM_SALESORDERS, (key, raw), (key, to_json_bytes(after)))
        await until_consumed(settings, SCM_SALESORDERS, CONSUMER_GROUP)

    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            numbered = (await connection.execute(select(sales_orders.c.cds_sales_order_id))).all()
    finally:
        await engine.dispose()
    assert numbered == [(after.payload.CDSSalesOrderId,)]
