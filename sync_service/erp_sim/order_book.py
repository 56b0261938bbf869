"""The simulated ERP's own state in PostgreSQL: number sequences and the orders it numbered.

The tables live in a schema of their own (`erp_sim`) with their own MetaData, created with
CREATE ... IF NOT EXISTS when the simulator starts, not by dualsync's Alembic migrations: they
are the other side's data, not dualsync's, and keeping them out of `sync_service.db.schema`
keeps the migrations' "schema matches schema.py" check and autogenerate blind to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.scm import SalesOrderHeader
from sync_service.erp_sim.lifecycle import order_number

__all__ = ["SCHEMA", "NumberedOrder", "OrderBook", "erp_metadata"]

SCHEMA: Final = "erp_sim"
erp_metadata = MetaData(schema=SCHEMA)

number_sequences = Table(
    "number_sequences",
    erp_metadata,
    Column("data_area_id", Text, primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

sales_orders = Table(
    "sales_orders",
    erp_metadata,
    Column("data_area_id", Text, nullable=False),
    Column("cds_sales_order_id", Uuid, nullable=False),
    Column("sales_order_number", Text, nullable=False),
    Column("numbered_at", DateTime(timezone=True), nullable=False),
    # The last status answered on scm.inbound.v1; NULL until the number itself was answered.
    Column("status", Text),
    Column("correlation_id", Uuid),
    # The newest version of the order the portal sent, echoed in every answer.
    Column("header", JSONB, nullable=False),
    PrimaryKeyConstraint("data_area_id", "cds_sales_order_id"),
    UniqueConstraint("data_area_id", "sales_order_number"),
)


@dataclass(frozen=True)
class NumberedOrder:
    """An order the simulated ERP has numbered, and how far it has answered about it."""

    company: str
    cds_sales_order_id: UUID
    number: str
    numbered_at: datetime
    status: str | None
    correlation_id: UUID | None
    header: SalesOrderHeader
    new: bool = False


def _numbered(row: Any, *, new: bool = False) -> NumberedOrder:
    return NumberedOrder(
        company=row.data_area_id,
        cds_sales_order_id=row.cds_sales_order_id,
        number=row.sales_order_number,
        numbered_at=row.numbered_at,
        status=row.status,
        correlation_id=row.correlation_id,
        header=SalesOrderHeader.model_validate(row.header),
        new=new,
    )


class OrderBook:
    """Numbers orders once per legal entity, sequentially, and remembers their status."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_tables(self) -> None:
        """Create the schema and tables when missing (safe to repeat, and from two processes)."""
        async with self._engine.begin() as connection:
            # Serialise concurrent starts: CREATE ... IF NOT EXISTS can still race in the catalog.
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('erp_sim'))"))
            await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            await connection.run_sync(erp_metadata.create_all, checkfirst=True)

    async def number(
        self, company: str, order: SalesOrderHeader, correlation_id: UUID, now: datetime
    ) -> NumberedOrder:
        """The order's number: the one it already has, else the company's next one."""
        assert order.CDSSalesOrderId is not None
        header = order.model_dump(mode="json")
        key = (
            sales_orders.c.data_area_id == company,
            sales_orders.c.cds_sales_order_id == order.CDSSalesOrderId,
        )
        async with self._engine.begin() as connection:
            found = (
                await connection.execute(select(sales_orders).where(*key).with_for_update())
            ).first()
            if found is not None:
                # A redelivery or a re-sent update: it keeps its number, and the newest header.
                await connection.execute(update(sales_orders).where(*key).values(header=header))
                return _numbered(found)
            # The upsert takes the company's row lock, so numbers are handed out one at a time.
            bump = (
                insert(number_sequences)
                .values(data_area_id=company, last_number=1)
                .on_conflict_do_update(
                    index_elements=[number_sequences.c.data_area_id],
                    set_={"last_number": number_sequences.c.last_number + 1},
                )
                .returning(number_sequences.c.last_number)
            )
            sequence = (await connection.execute(bump)).scalar_one()
            row = (
                await connection.execute(
                    insert(sales_orders)
                    .values(
                        data_area_id=company,
                        cds_sales_order_id=order.CDSSalesOrderId,
                        sales_order_number=order_number(company, sequence),
                        numbered_at=now,
                        status=None,
                        correlation_id=correlation_id,
                        header=header,
                    )
                    .returning(*sales_orders.c)
                )
            ).one()
            return _numbered(row, new=True)

    async def advance(self, order: NumberedOrder, status: str) -> bool:
        """Record that `status` was answered; False if someone else moved the order first."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(sales_orders)
                .where(
                    sales_orders.c.data_area_id == order.company,
                    sales_orders.c.cds_sales_order_id == order.cds_sales_order_id,
                    sales_orders.c.status.is_not_distinct_from(order.status),
                )
                .values(status=status)
            )
            return bool(result.rowcount)

    async def unfinished(self, statuses: list[str]) -> list[NumberedOrder]:
        """Answered orders whose status is one of `statuses` (those with a step still to take)."""
        if not statuses:
            return []
        query = (
            select(sales_orders)
            .where(sales_orders.c.status.in_(statuses))
            .order_by(sales_orders.c.numbered_at)
        )
        async with self._engine.connect() as connection:
            return [_numbered(row) for row in await connection.execute(query)]
