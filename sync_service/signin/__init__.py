"""Signing in to the portal's pages: passwords, browser sessions and the shared failure throttle.

Ports in `base`, PostgreSQL adapters in `postgres` (tables in `tables`, migration 0007), the
password rule and hashing in `passwords`. Every API process shares the state: two processes
behind one port see the same sessions and count the same failures, and a restart signs nobody out.
"""

from sync_service.signin.base import (
    FailureThrottle,
    PasswordStore,
    PortalSession,
    Reservation,
    SessionStore,
)

__all__ = ["FailureThrottle", "PasswordStore", "PortalSession", "Reservation", "SessionStore"]
