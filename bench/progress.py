"""Progress lines on stderr, so that a long step is seen to move while stdout keeps the table."""

from __future__ import annotations

import sys
import time

__all__ = ["say"]

_START = time.monotonic()


def say(text: str) -> None:
    """One progress line, stamped with the seconds since the bench started."""
    print(f"[bench {time.monotonic() - _START:6.1f}s] {text}", file=sys.stderr, flush=True)
