"""Which payload class each message type names, which topic carries it, and `decode`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from contracts import topics
from contracts.commands import (
    InviteContact,
    RedeemInvitation,
    RevokeCredential,
    SubmitOrder,
    UpsertContact,
)
from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, Message, load_json_object, validate_envelope
from contracts.errors import FieldError, InvalidMessage, UnknownMessageType
from contracts.events import (
    CommandRejected,
    ContactUpserted,
    CredentialRevoked,
    CustomerAccountUpserted,
    InvitationIssued,
    InvitationRedeemed,
    OrderSubmitted,
    OrderSyncStatusChanged,
    PriceListPriceUpserted,
    ProductUpserted,
)
from contracts.scm import (
    ContactPersonV2,
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesPriceAgreement,
)

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "MESSAGE_TYPES",
    "SCM_RECORD_TYPES",
    "TOPIC_MESSAGE_TYPES",
    "decode",
    "is_supported",
    "message_class",
]

COMMAND_TYPES: Final[tuple[type[Message], ...]] = (
    UpsertContact,
    InviteContact,
    RedeemInvitation,
    SubmitOrder,
    RevokeCredential,
)
EVENT_TYPES: Final[tuple[type[Message], ...]] = (
    ContactUpserted,
    CustomerAccountUpserted,
    ProductUpserted,
    PriceListPriceUpserted,
    InvitationIssued,
    InvitationRedeemed,
    OrderSubmitted,
    OrderSyncStatusChanged,
    CommandRejected,
    CredentialRevoked,
)
SCM_RECORD_TYPES: Final[tuple[type[Message], ...]] = (
    CustomerV3,
    ContactPersonV2,
    SalesOrderHeader,
    ReleasedProduct,
    SalesPriceAgreement,
)

TOPIC_MESSAGE_TYPES: Final[Mapping[str, tuple[type[Message], ...]]] = MappingProxyType(
    {
        topics.PORTAL_COMMANDS: COMMAND_TYPES,
        topics.CDS_EVENTS: EVENT_TYPES,
        topics.SCM_SALESORDERS: (SalesOrderHeader,),
        topics.SCM_CONTACTS: (ContactPersonV2,),
        topics.SCM_CUSTOMERS: (CustomerV3,),
        topics.SCM_INBOUND: SCM_RECORD_TYPES,
        topics.DEADLETTER: (DeadLetter,),
    }
)
"""The message types each topic carries, in the order of `topics.ALL_TOPICS`."""


def _index(*classes: type[Message]) -> Mapping[str, type[Message]]:
    index: dict[str, type[Message]] = {}
    for cls in classes:
        if cls.message_type in index:
            msg = f"message type {cls.message_type!r} is registered twice"
            raise RuntimeError(msg)
        index[cls.message_type] = cls
    return MappingProxyType(index)


MESSAGE_TYPES: Final[Mapping[str, type[Message]]] = _index(
    *COMMAND_TYPES, *EVENT_TYPES, *SCM_RECORD_TYPES, DeadLetter
)
"""Every message type on the wire -> its payload class."""


def message_class(message_type: str) -> type[Message]:
    """The payload class of `message_type`; UnknownMessageType if there is none."""
    try:
        return MESSAGE_TYPES[message_type]
    except KeyError:
        raise UnknownMessageType(message_type) from None


def is_supported(message_type: str, schema_version: int) -> bool:
    """Whether `message_type` in `schema_version` can be decoded."""
    cls = MESSAGE_TYPES.get(message_type)
    return cls is not None and cls.supports_version(schema_version)


def decode(raw: bytes | str) -> Envelope[Message]:
    """Decode any message; raise UnknownMessageType or InvalidMessage (both ContractErrors)."""
    data = load_json_object(raw)
    message_type = data.get("type")
    if not isinstance(message_type, str):
        error = FieldError(field="type", message="Field required: a message type (string)")
        raise InvalidMessage([error])
    return validate_envelope(data, message_class(message_type))
