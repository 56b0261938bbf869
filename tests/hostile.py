"""Hostile text for property tests, and every text field of a message type to put it in.

The values are what a careless or malicious sender can put in JSON: NUL and other control
characters, lone surrogates, right-to-left and other invisible marks, combining characters,
100 KB strings. They are spliced into a valid message's JSON (`json.dumps`, ASCII-escaped, so a
lone surrogate travels as `\\ud800`), past every model, as a foreign producer would send them.
"""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Union, get_args, get_origin

from hypothesis import strategies as st
from pydantic import BaseModel

__all__ = ["HOSTILE_TEXT", "Path", "hostile_json", "text_paths"]

Path = tuple[str | int, ...]

_MARKS = [
    "\x00",  # NUL: PostgreSQL's text and JSONB cannot hold it
    "\x01",
    "\x1b",
    "\x7f",
    "\n",
    "\ud800",  # lone surrogates: not encodable as UTF-8
    "\udfff",
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\ufeff",  # zero-width no-break space
    "\u0301",  # a combining acute accent, alone or after a letter
]

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "A\x00B",
            "\ud800",
            "x" * 100_000,
            "\u202eevil.exe",
            "e\u0301\u0301\u0301",
            "\u200f\u200f",
            "\x1b[31mred",
        ]
    ),
    st.text(alphabet=st.sampled_from([*_MARKS, "a", "Z", "7", " ", "-"]), min_size=1, max_size=40),
)
"""One hostile string."""


def text_paths(model: type[BaseModel], sample: dict[str, Any], prefix: Path = ()) -> list[Path]:
    """Every text field of `model` present in its JSON `sample` (wire names), nested ones too
    (a list's first item)."""
    paths: list[Path] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        kind, many = _unwrap(field.annotation)
        if kind is str:
            paths.append((*prefix, key))
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            value = sample.get(key)
            if many and isinstance(value, list) and value:
                paths += text_paths(kind, value[0], (*prefix, key, 0))
            elif not many and isinstance(value, dict):
                paths += text_paths(kind, value, (*prefix, key))
    return paths


def hostile_json(envelope_json: dict[str, Any], path: Path, value: str) -> bytes:
    """The envelope's JSON with its payload's field at `path` set to `value`."""
    data = json.loads(json.dumps(envelope_json))
    target: Any = data["payload"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(data, ensure_ascii=True).encode("ascii")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation's base type without Optional or Annotated, and whether it is a list."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrap(inner[0]) if len(inner) == 1 else (None, False)
    if origin is list:
        kind, _ = _unwrap(get_args(annotation)[0])
        return kind, True
    return annotation, False
