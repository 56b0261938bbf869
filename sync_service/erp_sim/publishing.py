"""`dualsync erp-sim publish-demo`: the ERP's demo records, sent to scm.inbound.v1."""

from __future__ import annotations

from contracts.envelope import to_json_bytes
from contracts.topics import SCM_INBOUND
from sync_service.erp_sim.demo import demo_messages
from sync_service.producer import running_producer
from sync_service.settings import Settings

__all__ = ["publish_demo"]


async def publish_demo(settings: Settings) -> int:
    """Publish every ERP demo record, in order; return how many were sent."""
    from sync_service.kafka_access import client_options
    from sync_service.topics import require_topics

    await require_topics(settings, "erp", [SCM_INBOUND])
    messages = demo_messages()
    async with running_producer(
        settings.kafka_bootstrap,
        client_id="dualsync-erp-sim-demo",
        security=client_options(settings, "erp"),
    ) as p:
        for key, env in messages:
            await p.publish(settings.topic(SCM_INBOUND), key, to_json_bytes(env))
    return len(messages)
