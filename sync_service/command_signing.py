"""Signed commands: the API signs each record of portal.commands.v1, the processor verifies it.

HMAC-SHA256 with a key both sides share (one trust domain: whoever holds the key may issue any
command, as the API may). The MAC covers the record's key and value bytes exactly as they are
on the wire: the value is the whole envelope (who issued it, when, what), and the key decides
the partition, so the order of an aggregate's commands. A header names the key by its id (a
fingerprint of the key, so there is nothing else to configure): the processor also accepts
previous keys while a new one is rolled out, and never signs with them. Other headers
(message_id, type, correlation_id) are hints for tools; the processor reads none of them.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "KEY_ID_HEADER",
    "MIN_KEY_CHARS",
    "SIGNATURE_HEADER",
    "CommandSigner",
    "CommandVerifier",
    "SigningKey",
    "Unverified",
    "weak_key_problem",
]

SIGNATURE_HEADER: Final = "dualsync-signature"
"""The record header with the HMAC-SHA256, in hex."""
KEY_ID_HEADER: Final = "dualsync-key-id"
"""The record header naming the key that signed it (`SigningKey.key_id`)."""
MIN_KEY_CHARS: Final = 43
"""The shortest key accepted: `secrets.token_urlsafe(32)`, i.e. 32 random bytes, has 43."""
_MIN_DISTINCT_CHARS: Final = 16
_DOMAIN: Final = b"dualsync.command.v1\x00"
"""Prefixed to what is signed: a MAC made for anything else never verifies here."""


class Unverified(enum.Enum):
    """Why a command record's signature was not accepted (also the metric's label)."""

    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"

    @property
    def message(self) -> str:
        """The sentence of the command's `rejected` outcome."""
        return _MESSAGES[self]


_MESSAGES: Final = {
    Unverified.UNSIGNED: "the command is not signed: it was not sent by the portal API",
    Unverified.UNKNOWN_KEY: "the command is signed with a key this processor does not know",
    Unverified.BAD_SIGNATURE: "the command's signature does not match its content",
}


def weak_key_problem(key: str) -> str | None:
    """Why `key` is too weak to sign commands with, or None when it will do."""
    if len(key) < MIN_KEY_CHARS:
        return (
            f"must be at least {MIN_KEY_CHARS} characters (32 random bytes, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`)'
        )
    if len(set(key)) < _MIN_DISTINCT_CHARS:
        return "is not random enough (too few distinct characters); generate one"
    return None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One HMAC key and its public id (a fingerprint: it tells nothing of the key)."""

    secret: bytes
    key_id: str

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """The key configured as `text` (its UTF-8 bytes are the HMAC key)."""
        secret = text.encode("utf-8")
        fingerprint = hashlib.sha256(b"dualsync.command-key-id\x00" + secret).hexdigest()
        return cls(secret=secret, key_id=fingerprint[:16])

    def mac(self, key: bytes | None, value: bytes) -> str:
        """The signature of a record with this record key and value, in hex."""
        record_key = key or b""
        # Lengths first, so that no byte can move between the key and the value.
        signed = b"".join(
            (_DOMAIN, len(record_key).to_bytes(8, "big"), record_key, value),
        )
        return hmac.new(self.secret, signed, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"SigningKey(key_id={self.key_id!r})"


class CommandSigner:
    """Signs command records with the current key (the API's side)."""

    def __init__(self, key: SigningKey) -> None:
        self._key = key

    @property
    def key_id(self) -> str:
        """The id of the key it signs with."""
        return self._key.key_id

    def headers(self, key: bytes | None, value: bytes) -> dict[str, str]:
        """The headers that carry the signature of this record (ASCII text)."""
        return {KEY_ID_HEADER: self._key.key_id, SIGNATURE_HEADER: self._key.mac(key, value)}

    def record_headers(self, key: bytes | None, value: bytes) -> list[tuple[str, bytes]]:
        """The same headers as a Kafka client takes them."""
        return [(name, text.encode("ascii")) for name, text in self.headers(key, value).items()]


class CommandVerifier:
    """Checks command records' signatures against the current and previous keys."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self._keys = {key.key_id: key for key in keys}
        if not self._keys:
            raise ValueError("a command verifier needs at least one key")

    def refusal(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> Unverified | None:
        """Why this record is not a command the API signed, or None when it is."""
        key_id = _header(headers, KEY_ID_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if key_id is None or signature is None:
            return Unverified.UNSIGNED
        known = self._keys.get(key_id.decode("ascii", "replace"))
        if known is None:
            return Unverified.UNKNOWN_KEY
        expected = known.mac(key, value).encode("ascii")
        if not hmac.compare_digest(expected, signature):
            return Unverified.BAD_SIGNATURE
        return None


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> bytes | None:
    """The value of header `name`; None when it is missing or given more than once."""
    values = [value for header, value in headers if header == name]
    # Two signatures would make "which one was checked" a question: neither is believed.
    return values[0] if len(values) == 1 and values[0] is not None else None
