"""Runs dualsync's long-lived services in one process until SIGTERM or SIGINT stops them.

Every service but the API first waits for Kafka and PostgreSQL (a logged look every few
seconds); a service that fails while one of them is away waits again and starts afresh, the
way a supervisor would restart it. The API starts at once: it answers 503 and is not ready
until they answer. A stop signal stops every service gracefully (sync_service.brokers), within
`STOP_DEADLINE_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from sync_service.connectivity import probe_database, probe_kafka, wait_for_dependencies
from sync_service.failures import is_outage
from sync_service.kafka_access import SERVICE_ROLES, Role, client_options
from sync_service.logs import get_logger
from sync_service.metrics import serve_metrics
from sync_service.settings import Settings

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "SERVICES",
    "STOP_DEADLINE_S",
    "Service",
    "api_server_config",
    "kafka_roles",
    "run_services",
    "services_named",
]

Service = Callable[[Settings], Awaitable[None]]
"""A long-lived service: runs until cancelled, cleaning up on the way out."""

STOP_DEADLINE_S: Final = 9.0
"""After a stop signal the process is gone within this long, whatever its services are doing."""
_STOP_EXIT_STATUS: Final = 0
_RESTART_PAUSES_S: Final = (1.0, 2.0, 5.0, 10.0)
_RAN_LONG_ENOUGH_S: Final = 60.0
_OUTAGE_PROBE_S: Final = 2.0

log = get_logger(__name__)


def api_server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the API: whom it believes about the client's address.

    uvicorn believes X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 unless told otherwise:
    then any local client (or a page through DNS rebinding) could claim a new address on each
    request and escape the throttles, which count per client address. Only the proxies named
    in `forwarded_allow_ips` are believed; with none, the peer's address is the client's.
    """
    import uvicorn

    trusted = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(
        app,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
        # h11 (when used instead of httptools) stops reading headers past the cap as well.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        **options,
    )


async def _serve_api(settings: Settings) -> None:
    import uvicorn

    from portal_api.app import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # run_services owns SIGTERM/SIGINT and stops every service, the API included;
            # uvicorn's own handlers would re-raise the signal after its shutdown and kill the
            # process before the other services have stopped.
            yield

    config = api_server_config(
        create_app(settings),
        settings,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # keep our structlog handler
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = Server(config)
    serving = asyncio.ensure_future(server.serve())
    log.info("api.listening", url=f"http://{settings.api_host}:{settings.api_port}")
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        # Stop accepting, finish the requests in hand, run the lifespan's shutdown.
        server.should_exit = True
        await serving
        raise


async def _run_relay(settings: Settings) -> None:
    from sync_service.relay import run_relay

    await run_relay(settings)


async def _run_command_processor(settings: Settings) -> None:
    from sync_service.command_processor import run_command_processor

    await run_command_processor(settings)


async def _run_projections(settings: Settings) -> None:
    from sync_service.projections.worker import run_projections

    await run_projections(settings)


async def _run_outbound(settings: Settings) -> None:
    from sync_service.mappings.workers import run_outbound

    await run_outbound(settings)


async def _run_inbound(settings: Settings) -> None:
    from sync_service.mappings.workers import run_inbound

    await run_inbound(settings)


async def _run_erp_sim(settings: Settings) -> None:
    from sync_service.erp_sim import run_erp_sim

    await run_erp_sim(settings)


SERVICES: Final[Mapping[str, Service]] = {
    "api": _serve_api,
    "relay": _run_relay,
    "command-processor": _run_command_processor,
    "projections": _run_projections,
    "outbound": _run_outbound,
    "inbound": _run_inbound,
}
"""What `dualsync run all` runs (the ERP simulator plays the other side: `dualsync erp-sim`)."""


def kafka_roles(services: Mapping[str, Service]) -> list[Role]:
    """The Kafka roles `services` act as (the API's ops side is "ops"); a service of another
    name (a test's, a tool's) is taken to need only to reach Kafka, as "operator"."""
    roles: list[Role] = []
    for name in services:
        wanted: list[Role] = [SERVICE_ROLES.get(name, "operator")]
        wanted += ["ops"] if name == "api" else []
        roles += [role for role in wanted if role not in roles]
    return roles or ["operator"]


def services_named(name: str) -> dict[str, Service]:
    """`run <name>`'s services: one of SERVICES, every one for "all", or the ERP simulator."""
    if name == "all":
        return dict(SERVICES)
    return {name: _run_erp_sim if name == "erp-sim" else SERVICES[name]}


class _DependencyWait:
    """One wait for Kafka and PostgreSQL at a time, shared by the services that need it."""

    def __init__(self, settings: Settings, role: Role) -> None:
        self._settings = settings
        self._security = client_options(settings, role)  # any of the services' roles will do
        self._waiting: asyncio.Task[None] | None = None

    async def until_available(self, service: str) -> None:
        """Return once both answer (raise DependencyUnavailable past DUALSYNC_START_WAIT_S)."""
        if self._waiting is None or self._waiting.done():
            self._waiting = asyncio.create_task(
                wait_for_dependencies(
                    self._settings.kafka_bootstrap,
                    self._settings.database_url,
                    bound_s=self._settings.start_wait_s,
                    waiting_for=service,
                    kafka_security=self._security,
                )
            )
        # Shielded: one service stopping does not cancel the wait the others share.
        await asyncio.shield(self._waiting)

    async def close(self) -> None:
        """Stop a wait still under way (every service has stopped)."""
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._waiting

    async def outage_now(self) -> bool:
        """Whether Kafka or PostgreSQL does not answer right now (one short look at each)."""
        kafka, database = await asyncio.gather(
            probe_kafka(self._settings.kafka_bootstrap, _OUTAGE_PROBE_S, self._security),
            probe_database(self._settings.database_url, _OUTAGE_PROBE_S),
        )
        return kafka is not None or database is not None


async def _supervised(
    name: str, service: Service, settings: Settings, dependencies: _DependencyWait
) -> None:
    """Run `service`; after a failure during an outage, wait for its dependencies and rerun it.

    Any other failure is raised: the process stops as a whole rather than limping on.
    """
    restarts = 0
    while True:
        if name != "api":  # the API starts without them and says so in /readyz
            await dependencies.until_available(name)
        started = time.monotonic()
        try:
            await service(settings)
            return
        except Exception as error:
            if not is_outage(error) and not await dependencies.outage_now():
                raise
            if time.monotonic() - started >= _RAN_LONG_ENOUGH_S:
                restarts = 0
            pause = _RESTART_PAUSES_S[min(restarts, len(_RESTART_PAUSES_S) - 1)]
            restarts += 1
            log.warning(
                "service.interrupted_by_outage",
                service=name,
                error=f"{type(error).__name__}: {error}".splitlines()[0],
                restart_in_s=pause,
            )
            await asyncio.sleep(pause)


@contextlib.contextmanager
def _stop_signals_set(stop: asyncio.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set `stop` (and start the stop's deadline)."""
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:
        if stop.is_set():
            return
        log.info("service.stopping", signal=signal.Signals(signum).name)
        stop.set()
        # The last word on "within 10 s": a service stuck on a dead connection cannot hold the
        # process. Nothing is lost by it: whatever was not committed is read again after a start.
        watchdog = threading.Timer(STOP_DEADLINE_S, _exit_now)
        watchdog.daemon = True
        watchdog.start()

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stopping, signum)  # main thread only
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _exit_now() -> None:
    log.warning("service.stop_deadline_passed", deadline_s=STOP_DEADLINE_S)
    sys.stderr.flush()
    os._exit(_STOP_EXIT_STATUS)


async def run_services(settings: Settings, services: str | Mapping[str, Service]) -> None:
    """Run `services` (or `run <name>`'s) until SIGTERM or SIGINT (then return) or a failure
    that is not an outage (then raise it); either way every service is stopped first."""
    if isinstance(services, str):
        services = services_named(services)
    roles = kafka_roles(services)
    for role in roles:  # a missing password stops the start, naming its variable
        client_options(settings, role)
    stop = asyncio.Event()
    dependencies = _DependencyWait(settings, roles[0])
    with _stop_signals_set(stop):
        tasks = [
            asyncio.create_task(_supervised(name, service, settings, dependencies), name=name)
            for name, service in services.items()
        ]
        if settings.metrics_port and "api" not in services:  # else the API's /metrics has all
            tasks.append(asyncio.create_task(serve_metrics(settings), name="metrics"))
        stopped = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await dependencies.close()
    for task, result in zip(tasks, results, strict=True):
        if task in done:
            if isinstance(result, Exception):
                log.error("service.failed", service=task.get_name(), error=repr(result))
                raise result
            # A service runs until stopped: one that ends by itself leaves the process useless.
            raise RuntimeError(f"service {task.get_name()} ended without being stopped")
        log.info("service.stopped", service=task.get_name())
