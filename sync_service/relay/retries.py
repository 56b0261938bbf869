"""Patience for the relay: retry with backoff through an outage, log it once, yield to a stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.wait import wait_exponential_jitter

from sync_service.logs import get_logger

__all__ = ["RetryUntilStopped", "Stopped"]

log = get_logger(__name__)
T = TypeVar("T")


class Stopped(Exception):
    """A stop was requested while waiting: unwind to whoever runs the loop."""


def _is_outage(error: BaseException) -> bool:
    """Whether `error` is worth another attempt: a failure, not a stop or a cancellation.

    Tenacity catches BaseException, so a task's cancellation (asyncio.CancelledError) would
    otherwise count as an outage and be retried, and the first cancel of the relay ignored.
    """
    return isinstance(error, Exception) and not isinstance(error, Stopped)


class RetryUntilStopped:
    """Runs operations until they succeed or `stopping` is set; one log line per outage."""

    def __init__(self, stopping: asyncio.Event, *, max_backoff_s: float) -> None:
        self._stopping = stopping
        self._max_backoff_s = max_backoff_s
        self._outage_since: float | None = None

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` until it succeeds, with growing pauses; raise Stopped on a stop."""
        # A fresh AsyncRetrying per call, so the backoff starts small again after each outage.
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_outage),
            wait=wait_exponential_jitter(multiplier=0.1, jitter=0.1, max=self._max_backoff_s),
            sleep=self._pause,
            before_sleep=self._outage_began,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await operation()
        raise AssertionError("unreachable: tenacity retries until success or reraises")

    async def unless_stopped(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, cancelling it and raising Stopped if a stop comes first."""
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not work.done():
                work.cancel()
        if not work.done() or work.cancelled():
            raise Stopped
        return work.result()

    def recovered(self, **context: object) -> None:
        """Note that things work again, logging the end of an outage if there was one."""
        if self._outage_since is not None:
            down_s = round(time.monotonic() - self._outage_since, 1)
            self._outage_since = None
            log.info("relay.recovered", down_s=down_s, **context)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
        raise Stopped

    def _outage_began(self, state: RetryCallState) -> None:
        if self._outage_since is not None:
            return  # the outage goes on: it was logged when it began
        self._outage_since = time.monotonic()
        error = state.outcome.exception() if state.outcome else None
        log.warning("relay.unavailable", error=repr(error), retrying="with backoff")
