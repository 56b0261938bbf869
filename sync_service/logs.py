"""Structured logging: JSON lines in services, readable lines in a terminal, correlation ids."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from sync_service.settings import Settings

__all__ = ["bind_correlation_id", "configure_logging", "faststream_logger", "get_logger"]


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library's loggers through one renderer."""
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not sys.stderr.isatty()
    )
    shared: list[Any] = [
        # Context variables carry the correlation id into every line of one user action.
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if use_json else _identity,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # aiokafka logs every failed connection attempt at ERROR; our own message says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def faststream_logger() -> logging.Logger:
    """The logger to give a FastStream broker, so its lines go through our renderer too."""
    # FastStream's default logger has a handler and format of its own (plain text lines).
    return logging.getLogger("dualsync.faststream")


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event


def get_logger(name: str) -> Any:
    """A structlog logger named for its module."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bind_correlation_id(correlation_id: object) -> Iterator[None]:
    """Add `correlation_id` to every log line written inside the block."""
    with structlog.contextvars.bound_contextvars(correlation_id=str(correlation_id)):
        yield
