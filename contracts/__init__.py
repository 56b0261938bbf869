"""dualsync's wire contract: topics, the message envelope, payload models and their codec."""

# Note: the `envelope` function shadows the `contracts.envelope` module as a package
# attribute; import from the module with `from contracts.envelope import ...`.
from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.errors import ContractError, FieldError, InvalidMessage, UnknownMessageType
from contracts.registry import decode

__all__ = [
    "ContractError",
    "Envelope",
    "FieldError",
    "InvalidMessage",
    "Message",
    "UnknownMessageType",
    "decode",
    "envelope",
    "to_json_bytes",
]
