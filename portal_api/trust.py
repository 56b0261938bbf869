"""What a request must be before anything reads it: a Host we answer to, headers of bounded size.

The Host check stops DNS rebinding: a page on another site whose name the attacker points at
127.0.0.1 reaches the API with its own name in Host, and gets 400.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from portal_api.problems import Problem, problem_response

__all__ = ["HeaderSizeLimit", "HostGuard", "host_name"]


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `[::1]`, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end > 0 else header
    return header.partition(":")[0]


class HostGuard:
    """ASGI middleware answering 400 to a request whose Host names no allowed host.

    An entry is a name (`localhost`, `[::1]`), `*.example.com` for the subdomains of
    example.com, or `*` for any host.
    """

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.names = {name for name in allowed if not name.startswith("*")}
        self.suffixes = tuple(name[1:] for name in allowed if name.startswith("*."))

    def allows(self, name: str) -> bool:
        """Whether the host `name` (without port) is one the API answers to."""
        return self.any or name in self.names or (bool(name) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the API serves no websockets
            await self.app(scope, receive, send)
            return
        host = b""
        for name, value in scope.get("headers") or []:
            if name == b"host":
                host = value
                break
        if self.allows(host_name(host.decode("latin-1"))):
            await self.app(scope, receive, send)
            return
        problem = Problem(400, "the Host header names a host this API does not answer to")
        await problem_response(problem, scope.get("path"))(scope, receive, send)


class HeaderSizeLimit:
    """ASGI middleware answering 431 when a request's headers exceed `max_bytes` together."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope.get("headers") or [])
            if size > self.max_bytes:
                problem = Problem(
                    431, f"the request's headers are larger than {self.max_bytes} bytes"
                )
                await problem_response(problem, scope.get("path"))(scope, receive, send)
                return
        await self.app(scope, receive, send)
