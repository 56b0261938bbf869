"""Bounded text, numbers and nesting: every value a message carries can be stored and summed.

PostgreSQL cannot store NUL in text or JSONB, UTF-8 cannot encode a lone surrogate, and an
unbounded decimal (`1E-20000`, `1E+999999`) overflows a numeric column or Python's arithmetic.
A record carrying one would fail in a consumer forever; these types refuse it at the edge, so
that the API answers 422 naming the field and a consumer dead-letters the record at decode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

__all__ = [
    "AMOUNT_PLACES",
    "AMOUNT_WHOLE_DIGITS",
    "CODE_MAX",
    "EMAIL_MAX",
    "MAX_JSON_DEPTH",
    "MAX_ORDER_LINES",
    "MULTI_LINE_PATTERN",
    "NAME_MAX",
    "NOTE_MAX",
    "PRICE_PLACES",
    "PRICE_WHOLE_DIGITS",
    "QUANTITY_PLACES",
    "QUANTITY_WHOLE_DIGITS",
    "SINGLE_LINE_PATTERN",
    "STREET_MAX",
    "Amount",
    "Code",
    "Email",
    "IsoDate",
    "LineNumber",
    "Name",
    "Note",
    "Price",
    "Quantity",
    "Street",
    "Timestamp",
    "UnitFactor",
    "bounded_decimal",
    "readable_message",
]

# --- text -------------------------------------------------------------------------------------

# Refused in every text: the C0 controls (NUL among them), DEL and the C1 controls. Format
# characters (right-to-left marks, zero-width joiners) are kept: names in many scripts need them.
# A lone surrogate never gets this far: pydantic refuses a string that UTF-8 cannot encode
# whenever a constraint applies, so every text type below has one.
SINGLE_LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Free text that may span lines (a street, a reason) keeps tab, line feed and carriage return:
# ERP addresses are multi-line, and Windows clients end lines with CR LF.
MULTI_LINE_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

CODE_MAX: Final = 100
"""Identifiers and codes: account, product and order numbers, units, currencies, languages."""
NAME_MAX: Final = 200
"""Names and one-line descriptions: people, organisations, products, cities."""
EMAIL_MAX: Final = 320
"""An e-mail address (64 + 1 + 255, the longest that RFC 5321 lets through)."""
STREET_MAX: Final = 1000
"""A street address, which the ERP keeps as multi-line text."""
NOTE_MAX: Final = 4000
"""Free text: a reason, an error message."""

_SINGLE_LINE = StringConstraints(pattern=SINGLE_LINE_PATTERN)
_MULTI_LINE = StringConstraints(pattern=MULTI_LINE_PATTERN)

Code = Annotated[str, Field(max_length=CODE_MAX), _SINGLE_LINE]
Name = Annotated[str, Field(max_length=NAME_MAX), _SINGLE_LINE]
Email = Annotated[str, Field(max_length=EMAIL_MAX), _SINGLE_LINE]
Street = Annotated[str, Field(max_length=STREET_MAX), _MULTI_LINE]
Note = Annotated[str, Field(max_length=NOTE_MAX), _MULTI_LINE]

_TEXT_MESSAGES: Final = {
    SINGLE_LINE_PATTERN: "must be one line of text without control characters (such as NUL)",
    MULTI_LINE_PATTERN: "must be text without control characters (such as NUL) other than "
    "tab and line breaks",
}


def readable_message(error: Any, patterns: Mapping[str, str] | None = None) -> str:
    """The message of one pydantic error item, in words for people where pydantic's are not.

    `patterns` adds messages for the caller's own patterns (pattern -> what it asks for).
    """
    kind = error.get("type")
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        known = {**_TEXT_MESSAGES, **(patterns or {})}
        if pattern in known:
            return known[pattern]
    if kind == "string_unicode":
        return "must be text that UTF-8 can encode (a lone surrogate such as \\ud800 cannot be)"
    message = str(error.get("msg", ""))
    # pydantic prefixes the message of a ValueError raised by a validator; the text says it all.
    return message.removeprefix("Value error, ")


# --- numbers ----------------------------------------------------------------------------------

QUANTITY_WHOLE_DIGITS: Final = 12
QUANTITY_PLACES: Final = 6
PRICE_WHOLE_DIGITS: Final = 15
PRICE_PLACES: Final = 6
MAX_ORDER_LINES: Final = 1000
"""Lines in one sales order, from either side (the API allows fewer)."""
# An amount holds price x quantity exactly (15 + 12 whole digits, 6 + 6 places) and the sum of
# MAX_ORDER_LINES such amounts (3 more whole digits): an order total is never rounded or refused.
AMOUNT_WHOLE_DIGITS: Final = PRICE_WHOLE_DIGITS + QUANTITY_WHOLE_DIGITS + 3
AMOUNT_PLACES: Final = PRICE_PLACES + QUANTITY_PLACES


def _plain_decimal_text(whole: int, places: int) -> Any:
    pattern = re.compile(rf"-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?")

    def check(value: Any) -> Any:
        # JSON numbers arrive as Decimal (wire) or float/int (HTTP); text must be plain digits,
        # so that the schema's pattern and this check agree (no exponents, no NaN, no spaces).
        if isinstance(value, str) and not pattern.fullmatch(value):
            message = (
                f"must be a decimal number with at most {whole} digits before the point and "
                f"{places} after it, written without an exponent, e.g. 12.5"
            )
            raise ValueError(message)
        return value

    return check


def _fixed_point(value: Decimal) -> str:
    # str() would write 1E+5 or 1E-12: never on the wire, which says digits and a point only.
    return format(value, "f")


def bounded_decimal(whole: int, places: int, description: str) -> Any:
    """A Decimal with at most `whole` digits before the point and `places` after it, finite."""
    limit = 10**whole
    text_pattern = rf"^-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
    schema = {
        "anyOf": [
            {"type": "string", "pattern": text_pattern},
            {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
        ],
        "description": f"{description}: at most {whole} digits before the decimal point and "
        f"{places} after it; written as a JSON string of plain digits",
    }
    return Annotated[
        Decimal,
        BeforeValidator(_plain_decimal_text(whole, places)),
        Field(max_digits=whole + places, decimal_places=places, allow_inf_nan=False),
        PlainSerializer(_fixed_point, return_type=str, when_used="json"),
        WithJsonSchema(schema),
    ]


Quantity = bounded_decimal(QUANTITY_WHOLE_DIGITS, QUANTITY_PLACES, "A quantity")
UnitFactor = bounded_decimal(QUANTITY_WHOLE_DIGITS, 10, "A unit's factor to the default unit")
Price = bounded_decimal(PRICE_WHOLE_DIGITS, PRICE_PLACES, "A price per unit")
Amount = bounded_decimal(AMOUNT_WHOLE_DIGITS, AMOUNT_PLACES, "An amount or total")

# PostgreSQL's integer column: a line number beyond it could never be stored.
LineNumber = Annotated[int, Field(ge=0, le=2**31 - 1)]


# Dates and times travel as text. pydantic would also read a number as seconds since 1970,
# which the schema (format date, date-time) does not allow: so a number is refused here.
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _date_text(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _time_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _TIME_TEXT.match(value):
        raise ValueError("must be a date and time written YYYY-MM-DDThh:mm:ss with a time zone")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text)]


def _utc_representable(value: datetime) -> datetime:
    # 9999-12-31T23:00-05:00 is valid here but is year 10000 in UTC, where the database and
    # Python's datetime both stop: refuse it rather than fail when it is stored.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie between the years 1 and 9999 in UTC") from None
    return value


Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_time_text), AfterValidator(_utc_representable)
]

# --- nesting ----------------------------------------------------------------------------------

MAX_JSON_DEPTH: Final = 32
"""Objects and arrays nested in one message; the deepest real one has 5 levels."""
