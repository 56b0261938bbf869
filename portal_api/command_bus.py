"""Sends portal commands to Kafka from the API, through a broker started in the app's lifespan."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from contracts.envelope import Envelope, Message, to_json_bytes
from contracts.topics import PORTAL_COMMANDS
from sync_service.settings import Settings

__all__ = ["CommandBus"]


class CommandBus:
    """Publishes command envelopes to portal.commands.v1 and returns once Kafka has them."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic(PORTAL_COMMANDS)
        # acks=all with idempotence: a 202 means the command is durably on the broker, once.
        self._broker = KafkaBroker(
            settings.kafka_bootstrap,
            enable_idempotence=True,
            acks="all",
            client_id="dualsync-portal-api",
            logger=None,
        )

    async def start(self) -> None:
        """Connect the producer."""
        await self._broker.connect()

    async def stop(self) -> None:
        """Flush and close the producer."""
        await self._broker.stop()

    async def send(self, command: Envelope[Message], key: str) -> None:
        """Publish `command` keyed by its aggregate id; raises if the broker does not confirm."""
        await self._broker.publish(
            to_json_bytes(command),
            self._topic,
            key=key.encode("utf-8"),
            headers={
                "message_id": str(command.message_id),
                "type": command.type,
                "correlation_id": str(command.correlation_id),
            },
            correlation_id=str(command.correlation_id),
        )
