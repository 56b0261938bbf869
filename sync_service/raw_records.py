"""How every subscriber of ours takes records from FastStream: as bytes, read by its handler.

FastStream decodes a record before the handler runs: its body with `json.loads` (always for
`content-type: application/json`, else on a try that forgives only JSONDecodeError), its header
values as UTF-8. A failure there (a document nested deeper than the parser's stack, a body that
is not the JSON its header says, a header that is not UTF-8) happens outside the handler and
its fault policy: the record is nacked and read again for ever, and its partition stalls. So
every subscriber passes `decoder=raw_body, parser=tolerant_parser`: the body stays bytes (which
also spares parsing every record twice) and header values are read with replacement characters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["raw_body", "tolerant_parser"]


async def raw_body(message: Any) -> Any:
    """FastStream's decoder: the body as it came (bytes; a list of them for a batch)."""
    return message.body


async def tolerant_parser(record: Any, parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's parser, after header values that are not UTF-8 are made so."""
    try:
        return await parse(record)
    except (UnicodeDecodeError, AttributeError):  # not UTF-8; no value at all (None)
        if isinstance(record, tuple):  # a batch
            return await parse(tuple(_text_headers(one) for one in record))
        return await parse(_text_headers(record))


def _text_headers(record: Any) -> Any:
    headers = [
        (name, value.decode("utf-8", "replace").encode("utf-8") if value else b"")
        for name, value in record.headers or ()
    ]
    return dataclasses.replace(record, headers=headers)
