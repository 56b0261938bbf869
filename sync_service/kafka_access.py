"""Who may do what on Kafka: dualsync's roles, their principals, grants and client options.

The single source of truth for Kafka access. Each role is one SASL/SCRAM principal
(`dualsync-<role>` unless settings name another) with grants on *logical* topics and consumer
groups; `bindings` turns them into literal ACLs on the physical names of a settings' prefix.
Every Kafka client dualsync builds gets its options from `client_options` / `broker_security`
with the role it acts as, so that `dualsync run all` still uses one principal per service.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, Literal

from aiokafka.admin import AIOKafkaAdminClient
from faststream.security import BaseSecurity, SASLScram512

from contracts.topics import (
    ALL_TOPICS,
    CDS_EVENTS,
    DEADLETTER,
    PORTAL_COMMANDS,
    SCM_CONTACTS,
    SCM_CUSTOMERS,
    SCM_INBOUND,
    SCM_SALESORDERS,
)
from sync_service.settings import MissingSetting, Settings

__all__ = [
    "ROLES",
    "SERVICE_ROLES",
    "AclBinding",
    "Grant",
    "KafkaCredentialsMissing",
    "Operation",
    "ResourceType",
    "Role",
    "admin_client",
    "bindings",
    "broker_security",
    "client_options",
    "environment",
    "password_variable",
    "principal",
]

Role = Literal[
    "admin",
    "api",
    "ops",
    "command-processor",
    "relay",
    "projections",
    "outbound",
    "inbound",
    "erp",
    "operator",
]


class ResourceType(IntEnum):
    """Kafka's ACL resource types (the wire codes)."""

    TOPIC = 2
    GROUP = 3


class Operation(IntEnum):
    """Kafka's ACL operations (the wire codes)."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8


@dataclass(frozen=True, slots=True)
class Grant:
    """Operations a role may perform on one logical topic or consumer group."""

    resource: ResourceType
    name: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True, slots=True, order=True)
class AclBinding:
    """One literal ALLOW ACL: `principal` ("User:<name>") may `operation` on the named resource,
    from any host."""

    resource: ResourceType
    name: str
    principal: str
    operation: Operation


# Consumer group names, logical (settings.group() prefixes them). Spelled out rather than
# imported: the workers' modules import this one's callers, and a test pins them to the workers'.
COMMAND_GROUP: Final = "dualsync-command-processor"
PROJECTIONS_GROUP: Final = "dualsync-projections"
OUTBOUND_GROUP: Final = "dualsync-outbound"
INBOUND_GROUP: Final = "dualsync-inbound"
DEADLETTER_INDEX_GROUP: Final = "dualsync-deadletter-index"
ERP_SIM_GROUP: Final = "dualsync-erp-sim"
WORKER_GROUPS: Final = (COMMAND_GROUP, PROJECTIONS_GROUP, OUTBOUND_GROUP, INBOUND_GROUP)
SCM_OUTBOUND: Final = (SCM_SALESORDERS, SCM_CONTACTS, SCM_CUSTOMERS)

_R, _W, _D = Operation.READ, Operation.WRITE, Operation.DESCRIBE


def _produce(*topics: str) -> tuple[Grant, ...]:
    return tuple(Grant(ResourceType.TOPIC, t, (_W, _D)) for t in topics)


def _consume(*topics: str) -> tuple[Grant, ...]:
    return tuple(Grant(ResourceType.TOPIC, t, (_R, _D)) for t in topics)


def _group(name: str, *operations: Operation) -> Grant:
    return Grant(ResourceType.GROUP, name, operations or (_R,))


ROLES: Final[Mapping[Role, tuple[Grant, ...]]] = {
    # A super user of the broker (no ACL needed): creates topics and applies these ACLs.
    "admin": (),
    # The portal API's command path: it puts commands on the topic, nothing else.
    "api": _produce(PORTAL_COMMANDS),
    # The API's operations side, and the ops verbs (lag, deadletters, maps, initial-sync): lag
    # reads the watched topics' waiting records and the workers' committed offsets; a redrive
    # publishes what the outbound map makes (scm.*) or, failing again, a dead letter.
    "ops": (
        *_consume(PORTAL_COMMANDS, CDS_EVENTS, SCM_INBOUND),
        *(_group(g, _D) for g in WORKER_GROUPS),
        *_produce(*SCM_OUTBOUND, DEADLETTER),
    ),
    "command-processor": (*_consume(PORTAL_COMMANDS), _group(COMMAND_GROUP)),
    "relay": _produce(CDS_EVENTS),
    "projections": (*_consume(CDS_EVENTS), _group(PROJECTIONS_GROUP)),
    # The outbound map, and the dead-letter index that runs beside it on the same broker.
    "outbound": (
        *_consume(CDS_EVENTS, DEADLETTER),
        _group(OUTBOUND_GROUP),
        _group(DEADLETTER_INDEX_GROUP),
        *_produce(*SCM_OUTBOUND, DEADLETTER),
    ),
    "inbound": (*_consume(SCM_INBOUND), _group(INBOUND_GROUP), *_produce(DEADLETTER)),
    # The ERP side (and its simulator): writes what it changed, reads what dualsync sends it.
    "erp": (*_produce(SCM_INBOUND), *_consume(*SCM_OUTBOUND), _group(ERP_SIM_GROUP)),
    # People with kcat and the like: read every topic (without a group), write none.
    "operator": (
        *_consume(*ALL_TOPICS),
        *(_group(g, _D) for g in (*WORKER_GROUPS, DEADLETTER_INDEX_GROUP, ERP_SIM_GROUP)),
    ),
}

SERVICE_ROLES: Final[Mapping[str, Role]] = {
    "api": "api",
    "relay": "relay",
    "command-processor": "command-processor",
    "projections": "projections",
    "outbound": "outbound",
    "inbound": "inbound",
    "erp-sim": "erp",
}
"""The role each `dualsync run <service>` acts as (the API's ops side acts as "ops" besides)."""


class KafkaCredentialsMissing(MissingSetting):
    """A role's Kafka password is not configured; the message names the variable to set."""


def password_variable(role: Role) -> str:
    """The environment variable that holds `role`'s password."""
    return f"DUALSYNC_KAFKA_PASSWORDS__{role.upper().replace('-', '_')}"


def principal(settings: Settings, role: Role) -> str:
    """The SASL user name `role` authenticates as."""
    return settings.kafka_usernames.get(role.replace("-", "_"), f"dualsync-{role}")


def _password(settings: Settings, role: Role) -> str:
    secret = settings.kafka_passwords.get(role.replace("-", "_"))
    if secret is None or not secret.get_secret_value():
        raise KafkaCredentialsMissing(
            f"{password_variable(role)} is not set: the Kafka password of the {role!r} role "
            f"(principal {principal(settings, role)}); `scripts/stack.sh env` prints the local "
            "stack's"
        )
    return secret.get_secret_value()


def environment(settings: Settings) -> dict[str, str]:
    """`settings`' Kafka security as DUALSYNC_* variables, for a dualsync child process."""
    variables: dict[str, str] = {
        "DUALSYNC_KAFKA_SECURITY_PROTOCOL": settings.kafka_security_protocol
    }
    for key, secret in settings.kafka_passwords.items():
        variables[f"DUALSYNC_KAFKA_PASSWORDS__{key.upper()}"] = secret.get_secret_value()
    for key, name in settings.kafka_usernames.items():
        variables[f"DUALSYNC_KAFKA_USERNAMES__{key.upper()}"] = name
    return variables


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def client_options(settings: Settings, role: Role) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client (producer, consumer, admin) acting as `role`."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    options: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": principal(settings, role),
        "sasl_plain_password": _password(settings, role),
    }
    if settings.kafka_security_protocol == "SASL_SSL":
        options["ssl_context"] = _ssl_context(settings)
    return options


def admin_client(settings: Settings, role: Role, client_id: str) -> AIOKafkaAdminClient:
    """An aiokafka admin client (not started) on `settings`' Kafka, acting as `role`."""
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        **client_options(settings, role),
    )


def broker_security(settings: Settings, role: Role) -> BaseSecurity | None:
    """The FastStream `security=` of a KafkaBroker acting as `role` (None: PLAINTEXT)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    use_ssl = settings.kafka_security_protocol == "SASL_SSL"
    return SASLScram512(
        principal(settings, role),
        _password(settings, role),
        ssl_context=_ssl_context(settings) if use_ssl else None,
        use_ssl=use_ssl,
    )


def bindings(
    settings: Settings, roles: Mapping[Role, tuple[Grant, ...]] = ROLES
) -> list[AclBinding]:
    """Every role's grants as literal ACLs on the physical names of `settings`' prefix."""
    physical = {ResourceType.TOPIC: settings.topic, ResourceType.GROUP: settings.group}
    return sorted(
        {
            AclBinding(
                grant.resource,
                physical[grant.resource](grant.name),
                f"User:{principal(settings, role)}",
                op,
            )
            for role, grants in roles.items()
            for grant in grants
            for op in grant.operations
        }
    )
