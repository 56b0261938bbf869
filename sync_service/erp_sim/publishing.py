"""`dualsync erp-sim publish-demo`: the ERP's demo records, sent to scm.inbound.v1."""

from __future__ import annotations

from contracts.envelope import to_json_bytes
from contracts.topics import SCM_INBOUND
from sync_service.erp_sim.demo import demo_messages
from sync_service.erp_sim.simulator import start_producer
from sync_service.settings import Settings

__all__ = ["publish_demo"]


async def publish_demo(settings: Settings) -> int:
    """Publish every ERP demo record, in order; return how many were sent."""
    from sync_service.topics import ensure_topics

    await ensure_topics(settings, [SCM_INBOUND])
    producer = await start_producer(settings, "dualsync-erp-sim-demo")
    try:
        messages = demo_messages()
        for key, env in messages:
            await producer.send_and_wait(settings.topic(SCM_INBOUND), to_json_bytes(env), key=key)
    finally:
        await producer.stop()
    return len(messages)
