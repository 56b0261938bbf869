"""Whether the bootstrap administrator token is strong enough to start the API with.

The token opens everything an Administrator may do, to anyone who can reach the API: a short,
guessable or published one (a README's example, a compose default) is refused at start.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Final

__all__ = [
    "MIN_ADMIN_TOKEN_LENGTH",
    "WeakAdminToken",
    "admin_token_weakness",
    "refuse_weak_admin_token",
]

MIN_ADMIN_TOKEN_LENGTH: Final = 32
"""Characters; `secrets.token_urlsafe(24)` or `openssl rand -hex 16` (128 bits) is the least."""

_MIN_BITS_PER_CHARACTER: Final = 2.5
# Random hex text of 32 characters measures about 3.6 bits per character (never below 2.9 in
# 20 000 draws); text such as `aaaa...` or `abab...` measures 0 to 1.

_WELL_KNOWN: Final = frozenset(
    {"admin", "administrator", "change-me-admin-token", "dualsync-dev-admin", "test-admin-token"}
)
_PLACEHOLDER_PARTS: Final = (
    "change-me", "changeme", "change_me", "dualsync-dev", "password", "admin-token", "example",
)  # fmt: skip
# Placeholders copied from documentation, possibly made longer; a random token contains none.

_HOW_TO_FIX: Final = (
    "make one with `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'` (`make run` "
    "does), or, for development only, set DUALSYNC_ALLOW_WEAK_ADMIN_TOKEN=true"
)


class WeakAdminToken(ValueError):
    """DUALSYNC_ADMIN_TOKEN is too weak to start the API with; the message says why."""


def admin_token_weakness(token: str) -> str | None:
    """Why `token` is too weak for the bootstrap administrator credential; None if it is not."""
    lowered = token.strip().lower()
    if lowered in _WELL_KNOWN:
        return "it is a well-known value"
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return f"it is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters"
    if any(part in lowered for part in _PLACEHOLDER_PARTS):
        return "it contains a well-known placeholder"
    if _is_repetition(token) or _bits_per_character(token) < _MIN_BITS_PER_CHARACTER:
        return "it is too predictable (low entropy)"
    return None


def refuse_weak_admin_token(token: str | None, *, allow_weak: bool) -> None:
    """Raise WeakAdminToken naming DUALSYNC_ADMIN_TOKEN unless it is strong, unset or allowed."""
    if token is None or allow_weak:
        return
    weakness = admin_token_weakness(token)
    if weakness is not None:
        raise WeakAdminToken(f"DUALSYNC_ADMIN_TOKEN is refused: {weakness}; {_HOW_TO_FIX}")


def _bits_per_character(text: str) -> float:
    """The Shannon entropy of the text's own character frequencies."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _is_repetition(text: str) -> bool:
    """Whether `text` is a shorter text repeated (`abcabcabc`)."""
    return text in (text + text)[1:-1]
