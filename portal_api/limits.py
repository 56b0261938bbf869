"""Request limits: a cap on body size, and slowing down repeated failed redemptions."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal_api.problems import Problem, problem_response

__all__ = ["BodySizeLimit", "FailureThrottle"]


class BodySizeLimit:
    """ASGI middleware answering 413 when a request body exceeds `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(413, f"the request body is larger than {self.max_bytes} bytes")
        await problem_response(problem, scope.get("path"))(scope, receive, send)


class _TooLarge(Exception):
    pass


class FailureThrottle:
    """Counts failures per client in a sliding window; past `limit`, the client must wait."""

    def __init__(self, limit: int, window_s: float, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def check(self, client: str) -> None:
        """Raise a 429 problem while `client` has used up its failures in the window."""
        failures = self._recent(client)
        if len(failures) >= self.limit:
            retry_after = max(1, int(failures[0] + self.window_s - self._clock()) + 1)
            raise Problem(
                429,
                "too many failed attempts; try again later",
                headers={"Retry-After": str(retry_after)},
            )

    def record_failure(self, client: str) -> None:
        """Count one failure of `client`."""
        self._recent(client).append(self._clock())
        if len(self._failures) > 10_000:  # bound memory against many distinct clients
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]
