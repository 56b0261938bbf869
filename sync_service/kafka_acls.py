"""Applying, reading and deleting Kafka ACLs over the wire (as the admin principal).

aiokafka has the protocol structs but no helper for ACLs; these requests use their v1 (Kafka 4
removed v0). Creating an ACL that exists already is a no-op for the broker, so `apply_acls`
can run at every setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request

from sync_service.kafka_access import AclBinding, Operation, ResourceType, admin_client, bindings
from sync_service.settings import Settings

__all__ = ["AclError", "apply_acls", "delete_acls", "describe_acls", "resource_names"]

_ANY: Final = 1
_LITERAL: Final = 3
_ALLOW: Final = 3
_ANY_HOST: Final = "*"
_DELETE_RESOURCES_PER_REQUEST: Final = 300
"""Resources per DeleteAcls request: each has at most a dozen ACLs; the broker deletes at most
10,000 per request."""


class AclError(RuntimeError):
    """The broker refused an ACL request; the message carries its error."""


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, wanted: Sequence[AclBinding]) -> None:
        self._wanted = wanted

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [
                (b.resource, b.name, _LITERAL, b.principal, _ANY_HOST, b.operation, _ALLOW)
                for b in self._wanted
            ]
        )


class _DescribeAcls(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 29

    def __init__(self, resource: tuple[ResourceType, str] | None = None) -> None:
        self._resource = resource

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        # The literal ACLs on one resource; without one, every literal ACL of the cluster.
        kind, name = self._resource if self._resource else (_ANY, None)
        return request_struct_class(kind, name, _LITERAL, None, None, _ANY, _ANY)


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 31

    def __init__(self, resources: Sequence[tuple[ResourceType, str]]) -> None:
        self._resources = resources

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(
            [(kind, name, _LITERAL, None, None, _ANY, _ANY) for kind, name in self._resources]
        )


def _raise_for(error_code: int, message: str | None, doing: str) -> None:
    if error_code:
        error = for_code(error_code)
        raise AclError(f"{doing}: {error.__name__} ({message or error.description})")


@contextlib.asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = admin_client(settings, "admin", "dualsync-kafka-access")
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def _send(admin: AIOKafkaAdminClient, request: Request[Any]) -> Any:
    return await admin._send_request(request)  # aiokafka has no public way to send a raw request


async def apply_acls(settings: Settings, *, visible_within_s: float = 10.0) -> list[AclBinding]:
    """Create every role's ACLs for `settings`' prefix (one request); return them.

    The controller commits them before it answers, but the broker's authorizer learns of them
    from the metadata log a moment later: wait until it describes them all, so that a client
    started next is allowed (AclError after `visible_within_s`).
    """
    wanted = bindings(settings)
    async with _admin(settings) as admin:
        response = await _send(admin, _CreateAcls(wanted))
        for error_code, message in response.creation_responses:
            _raise_for(error_code, message, "creating ACLs")
        deadline = time.monotonic() + visible_within_s
        while not set(wanted) <= await _described(admin, settings):
            if time.monotonic() > deadline:
                raise AclError(f"the broker did not show the new ACLs within {visible_within_s}s")
            await asyncio.sleep(0.05)
    return wanted


async def describe_acls(settings: Settings) -> set[AclBinding]:
    """The literal ALLOW ACLs on the topics and groups of `settings`' prefix."""
    async with _admin(settings) as admin:
        return await _described(admin, settings)


async def _described(admin: AIOKafkaAdminClient, settings: Settings) -> set[AclBinding]:
    # One small request per resource of the prefix, not one for the whole cluster: a cluster
    # shared by many prefixes (a test session makes hundreds) holds tens of thousands of ACLs.
    ours = resource_names([settings])
    responses = await asyncio.gather(*(_send(admin, _DescribeAcls(each)) for each in ours))
    found: set[AclBinding] = set()
    for response in responses:
        _raise_for(response.error_code, response.error_message, "describing ACLs")
        found.update(
            AclBinding(ResourceType(kind), name, who, Operation(operation))
            for kind, name, _pattern, acls in response.resources
            if (kind, name) in ours
            for who, _host, operation, permission in acls
            if permission == _ALLOW and operation in iter(Operation)
        )
    return found


def resource_names(every: Iterable[Settings]) -> list[tuple[ResourceType, str]]:
    """The (type, physical name) of every topic and group the roles name, for each settings."""
    return sorted({(b.resource, b.name) for settings in every for b in bindings(settings)})


async def delete_acls(settings: Settings, prefixes: Iterable[str]) -> int:
    """Delete every ACL on the roles' topics and groups of each prefix; return how many."""
    resources = resource_names(settings.model_copy(update={"topic_prefix": p}) for p in prefixes)
    if not resources:
        return 0
    deleted = 0
    async with _admin(settings) as admin:
        # The broker deletes at most 10,000 ACLs per request: a few hundred resources (a handful
        # of ACLs each) per request stay well below that, however many prefixes there are.
        for start in range(0, len(resources), _DELETE_RESOURCES_PER_REQUEST):
            chunk = resources[start : start + _DELETE_RESOURCES_PER_REQUEST]
            response = await _send(admin, _DeleteAcls(chunk))
            for error_code, message, matching in response.filter_responses:
                _raise_for(error_code, message, "deleting ACLs")
                deleted += len(matching)
    return deleted
