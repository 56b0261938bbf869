"""The running portal served over a real socket by uvicorn, for clients that block (schemathesis).

Everything runs in a thread with an event loop of its own, so that the API, the command
processor and the relay keep working while the test's own thread waits on a blocking client.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.kafka_acls import apply_acls
from sync_service.service_runner import api_server_config
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.command_signing import new_signing_key
from tests.conftest import _PREFIXES, _admin, _drop, _with_database
from tests.portal_api.conftest import ADMIN_TOKEN, running_portal
from tests.portal_api.views_helpers import credential
from tests.stack import Stack

__all__ = ["LivePortal", "live_portal"]

_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LivePortal:
    """Where the portal answers, and the bearer credentials of the demo's callers."""

    base_url: str
    admin_token: str
    jane_token: str
    """An Authorized user of customer X (the seed's Jane), by invitation and redemption."""


async def _serve(
    stack: Stack,
    template_database: str,
    ready: threading.Event,
    found: list[LivePortal | BaseException],
    stop: asyncio.Event,
) -> None:
    name = f"dualsync_test_{uuid.uuid4().hex[:12]}"
    await _admin(stack, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    _PREFIXES.add(prefix)  # deleted with the session's other test topics
    settings = Settings(
        kafka_bootstrap=stack.kafka_bootstrap,
        database_url=_with_database(stack.database_url, name),
        topic_prefix=prefix,
        connect_timeout_s=10.0,
        allowed_hosts="127.0.0.1,portal.test",  # the socket's clients, the ASGI client
        # schemathesis sends wrong credentials on purpose, many times, from this one address.
        bearer_failures_per_minute=1_000_000,
        command_signing_key=new_signing_key(),
    )
    try:
        await ensure_topics(settings)
        await apply_acls(settings)  # as the `settings` fixture does for every other test
        async with running_portal(settings) as portal:
            jane = await credential(portal, JANE_CONTACT_ID)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))  # a free port, held from here on: no race
            # The app's lifespan already runs inside running_portal: uvicorn only serves it.
            # As `dualsync run api` serves it (whom it believes about the client's address).
            config = api_server_config(portal.app, settings, lifespan="off", log_level="warning")
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            while not server.started:
                if serving.done():
                    serving.result()  # raises why it could not start
                await asyncio.sleep(0.01)
            host, port = listener.getsockname()
            found.append(
                LivePortal(
                    base_url=f"http://{host}:{port}",
                    admin_token=ADMIN_TOKEN,
                    jane_token=jane["Authorization"].removeprefix("Bearer "),
                )
            )
            ready.set()
            await stop.wait()
            server.should_exit = True
            await serving
    except BaseException as error:
        found.append(error)
        ready.set()
        raise
    finally:
        await _drop(stack, name)


@contextmanager
def live_portal(stack: Stack, template_database: str) -> Iterator[LivePortal]:
    """Serve the running portal (API, command processor, projections, relay) on a free port."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    found: list[LivePortal | BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_serve(stack, template_database, ready, found, stop))
        except BaseException:  # reported to the waiting test through `found`
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="live-portal", daemon=True)
    thread.start()
    if not ready.wait(_START_TIMEOUT_S):
        raise TimeoutError(f"the portal did not start within {_START_TIMEOUT_S} s")
    outcome = found[0]
    if isinstance(outcome, BaseException):
        thread.join()
        raise outcome
    try:
        yield outcome
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
