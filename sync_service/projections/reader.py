"""The read models on PostgreSQL, for the API: each call reads what is committed now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sync_service.domain.visibility import OrderScope
from sync_service.projections import queries
from sync_service.projections.history import OrderHistory, order_history
from sync_service.projections.queries import AccountView, OrderFilter, OrderView, SortKey

__all__ = ["PostgresOrderViews"]


class PostgresOrderViews:
    """The order and account views, filtered by the caller's OrderScope."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as connection:
            # One snapshot per page: the orders and their lines are read consistently.
            await connection.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                yield connection

    async def list_orders(
        self,
        scope: OrderScope,
        *,
        filters: OrderFilter,
        sort: SortKey,
        after: tuple[Any, UUID] | None,
        limit: int,
    ) -> tuple[list[OrderView], tuple[Any, UUID] | None]:
        """One page of visible orders and the keyset of the next page (None at the end)."""
        if scope.nothing:
            return [], None
        async with self._connect() as connection:
            return await queries.list_orders(
                connection, scope, filters=filters, sort=sort, after=after, limit=limit
            )

    async def order(self, scope: OrderScope, order_id: UUID) -> OrderView | None:
        """The order, if it exists and `scope` includes it."""
        async with self._connect() as connection:
            return await queries.order_view(connection, scope, order_id)

    async def order_with_history(
        self, scope: OrderScope, order_id: UUID
    ) -> tuple[OrderView, OrderHistory] | None:
        """The order and its sync timeline, if it exists and `scope` includes it."""
        async with self._connect() as connection:
            view = await queries.order_view(connection, scope, order_id)
            if view is None:
                return None
            # In the view's snapshot: the timeline shows exactly the events the view reflects.
            return view, order_history(view, await queries.order_events(connection, order_id))

    async def account(self, company: str, account_number: str) -> AccountView | None:
        """The customer account with its ordering contacts."""
        async with self._connect() as connection:
            return await queries.account_view(connection, company, account_number)
