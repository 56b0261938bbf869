"""Sends portal commands to Kafka from the API, signed (sync_service.command_signing), through a
producer started in the app's lifespan."""

from __future__ import annotations

from contracts.envelope import Envelope, Message, to_json_bytes
from contracts.topics import PORTAL_COMMANDS
from portal_api.kafka_producer import ApiProducer
from sync_service.kafka_access import client_options
from sync_service.settings import Settings

__all__ = ["CommandBus"]


class CommandBus:
    """Publishes command envelopes to portal.commands.v1 and returns once Kafka has them."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic(PORTAL_COMMANDS)
        # Raises at start when no key is configured: the processor would reject every command.
        self._signer = settings.command_signer()
        # acks=all with idempotence: a 202 means the command is durably on the broker, once.
        self._producer = ApiProducer(
            settings.kafka_bootstrap,
            client_id="dualsync-portal-api",
            security=client_options(settings, "api"),
        )

    @property
    def connected(self) -> bool:
        """Whether commands can be sent (the producer has reached Kafka)."""
        return self._producer.connected

    async def start(self) -> None:
        """Connect the producer, in the background: the API serves (503) while Kafka is away."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and close the producer."""
        await self._producer.stop()

    async def send(self, command: Envelope[Message], key: str) -> None:
        """Publish `command` keyed by its aggregate id, signed; KafkaUnavailable if Kafka cannot
        take it."""
        record_key, value = key.encode("utf-8"), to_json_bytes(command)
        await self._producer.publish(
            self._topic,
            record_key,
            value,
            {
                "message_id": str(command.message_id),
                "type": command.type,
                "correlation_id": str(command.correlation_id),
                # Over the exact bytes published: the processor verifies these, not a re-encoding.
                **self._signer.headers(record_key, value),
            },
        )
