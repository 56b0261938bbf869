"""The portal's HTTP API: parses, authorises and calls into sync_service; holds no rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from portal_api.clock import utc_now
from portal_api.command_bus import CommandBus
from portal_api.health import router as health_router
from portal_api.limits import BodySizeLimit
from portal_api.openapi import install_openapi
from portal_api.ops_page.routes import router as ops_page_router
from portal_api.problems import install_problem_handlers
from portal_api.routes import (
    admin,
    commands,
    credentials,
    invitations,
    ops,
    ops_lag,
    orders,
    products,
    views,
)
from portal_api.trust import HeaderSizeLimit, HostGuard
from portal_api.unavailable import install_unavailable_handlers
from portal_web import install_portal
from sync_service.db.engine import create_engine
from sync_service.domain.admin_token import refuse_weak_admin_token
from sync_service.ops.lag import sampling_in_background
from sync_service.projections.reader import PostgresOrderViews
from sync_service.settings import Settings, get_settings
from sync_service.signin.postgres import (
    PostgresFailureThrottle,
    PostgresPasswords,
    PostgresSessions,
)
from sync_service.writemodel.postgres import PostgresWriteModelReader

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API application for `settings` (the environment's by default).

    A weak DUALSYNC_ADMIN_TOKEN is refused here (WeakAdminToken), before anything listens.
    """
    settings = settings or get_settings()
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    refuse_weak_admin_token(token, allow_weak=settings.allow_weak_admin_token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        bus = CommandBus(settings)
        app.state.reader = PostgresWriteModelReader(engine)
        app.state.order_views = PostgresOrderViews(engine)
        app.state.bus = bus
        _sign_in_state(app, settings, engine)
        # Neither Kafka nor PostgreSQL is needed to start: while one is away the API answers 503
        # and /readyz names it, and the producers connect when Kafka answers.
        await bus.start()
        try:
            async with sampling_in_background(settings, engine) as lag_sampler:
                app.state.lag_sampler = lag_sampler
                async with ops.actions_running(app, settings, engine):
                    yield
        finally:
            await bus.stop()
            await engine.dispose()

    # Swagger UI and ReDoc load their scripts from a CDN, on the origin of /ops and the portal:
    # only when a developer asks for them. /openapi.json is always served.
    docs = "/docs" if settings.docs_ui else None
    app = FastAPI(
        title="dualsync portal API",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=docs,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = utc_now
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, run first: a foreign Host or oversized headers are refused before anything.
    app.add_middleware(HostGuard, allowed=settings.allowed_host_names())
    app.add_middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes)
    install_problem_handlers(app)
    install_unavailable_handlers(app)
    install_openapi(app)
    for router in (
        health_router,
        admin.router,
        credentials.router,
        invitations.router,
        products.router,
        orders.router,
        commands.router,
        views.router,
        ops_lag.router,
        ops.router,
        ops_page_router,
    ):
        app.include_router(router)
    install_portal(app)
    return app


def _sign_in_state(app: FastAPI, settings: Settings, engine: AsyncEngine) -> None:
    """Sessions, passwords and failed attempts, in PostgreSQL: shared by every API process."""
    minute = timedelta(minutes=1)
    app.state.sessions = PostgresSessions(
        engine,
        idle=timedelta(seconds=settings.session_idle_s),
        absolute=timedelta(seconds=settings.session_max_s),
    )
    app.state.passwords = PostgresPasswords(engine)
    app.state.redeem_throttle = PostgresFailureThrottle(
        engine, "redeem", limit=settings.redeem_failures_per_minute, window=minute
    )
    app.state.sign_in_throttle = PostgresFailureThrottle(
        engine, "sign-in", limit=settings.signin_failures_per_minute, window=minute
    )
    app.state.bearer_throttle = PostgresFailureThrottle(
        engine, "bearer", limit=settings.bearer_failures_per_minute, window=minute
    )
