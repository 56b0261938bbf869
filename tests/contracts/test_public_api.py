"""Pins the public names of every contracts module: a change here is a contract change."""

from __future__ import annotations

import importlib

import pytest

PUBLIC_NAMES = {
    "contracts": [
        "ContractError",
        "Envelope",
        "FieldError",
        "InvalidMessage",
        "Message",
        "UnknownMessageType",
        "decode",
        "envelope",
        "to_json_bytes",
    ],
    "contracts.topics": [
        "ALL_TOPICS",
        "CDS_EVENTS",
        "DEADLETTER",
        "PORTAL_COMMANDS",
        "SCM_CONTACTS",
        "SCM_CUSTOMERS",
        "SCM_INBOUND",
        "SCM_SALESORDERS",
    ],
    "contracts.values": [
        "Actor",
        "CompanyCode",
        "InvitationKind",
        "OrderSyncStatus",
        "Origin",
        "SecretHash",
        "WebRole",
    ],
    "contracts.errors": [
        "ROOT_FIELD",
        "ContractError",
        "FieldError",
        "InvalidMessage",
        "UnknownMessageType",
        "UnsupportedSchemaVersion",
        "field_errors",
    ],
    "contracts.envelope": [
        "Envelope",
        "Message",
        "Record",
        "envelope",
        "from_json_bytes",
        "load_json_object",
        "to_json_bytes",
        "validate_envelope",
    ],
    "contracts.cds": [
        "Account",
        "Contact",
        "Product",
        "ProductPriceLevel",
        "ProductUnit",
        "SalesOrder",
        "SalesOrderDetail",
    ],
    "contracts.scm": [
        "ContactPersonV2",
        "CustomerV3",
        "ReleasedProduct",
        "SalesOrderHeader",
        "SalesOrderLine",
        "SalesPriceAgreement",
        "SalesUnit",
    ],
    "contracts.commands": [
        "DeliveryAddress",
        "InviteContact",
        "OrderLineRequest",
        "PortalCommand",
        "RedeemInvitation",
        "RevokeCredential",
        "SubmitOrder",
        "UpsertContact",
    ],
    "contracts.events": [
        "CommandRejected",
        "ContactUpserted",
        "CredentialRevoked",
        "CustomerAccountUpserted",
        "DomainEvent",
        "InvitationIssued",
        "InvitationRedeemed",
        "OrderSubmitted",
        "OrderSyncStatusChanged",
        "PriceListPriceUpserted",
        "ProductUpserted",
    ],
    "contracts.deadletter": ["DeadLetter"],
    "contracts.registry": [
        "COMMAND_TYPES",
        "EVENT_TYPES",
        "MESSAGE_TYPES",
        "SCM_RECORD_TYPES",
        "TOPIC_MESSAGE_TYPES",
        "decode",
        "is_supported",
        "message_class",
    ],
    "contracts.export": ["export_contracts"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC_NAMES))
def test_module_exports_exactly_its_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC_NAMES[module_name])
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is listed but missing"


def test_package_reexports_are_the_same_objects() -> None:
    import contracts
    from contracts import errors, registry

    envelope_module = importlib.import_module("contracts.envelope")
    assert contracts.decode is registry.decode
    assert contracts.envelope is envelope_module.envelope
    assert contracts.Envelope is envelope_module.Envelope
    assert contracts.InvalidMessage is errors.InvalidMessage
