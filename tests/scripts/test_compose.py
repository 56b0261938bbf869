"""docker-compose.yml cannot be run here (no Docker engine), so its promises are read and held
to the code: ports on 127.0.0.1 only, no secret with a default, and each container with the
secrets of the roles it plays and no other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sync_service.kafka_access import ROLES, password_variable
from sync_service.service_runner import SERVICES, kafka_roles

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
_SECRET = re.compile(r"(PASSWORDS__|TOKEN|SIGNING_KEY$)")


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _secrets(service: dict[str, Any]) -> set[str]:
    return {name for name in service.get("environment", {}) if _SECRET.search(name)}


def test_every_published_port_is_on_the_loopback_address_only() -> None:
    published = [port for s in _services().values() for port in s.get("ports", [])]
    assert published, "compose publishes the API, Kafka and PostgreSQL"
    assert all(str(port).startswith("127.0.0.1:") for port in published), published


def test_no_secret_has_a_default() -> None:
    for name, service in _services().items():
        for variable in _secrets(service):
            value = str(service["environment"][variable])
            assert value.startswith(f"${{{variable}:?"), (name, variable)  # required, no default


def test_each_container_holds_only_the_secrets_of_its_roles() -> None:
    services = _services()
    run_all = {password_variable(role) for role in kafka_roles(SERVICES)}
    assert _secrets(services["dualsync"]) == run_all | {
        "DUALSYNC_ADMIN_TOKEN",
        "DUALSYNC_COMMAND_SIGNING_KEY",
    }
    assert _secrets(services["erp-sim"]) == {password_variable("erp")}
    # Setup creates topics and ACLs (admin) and publishes the ERP's demo records (erp).
    assert _secrets(services["setup"]) == {password_variable("admin"), password_variable("erp")}
    # The broker formats a SCRAM user for every role, and its own two.
    broker = {password_variable(role) for role in ROLES} | {
        "DUALSYNC_KAFKA_PASSWORDS__BROKER",
        "DUALSYNC_KAFKA_PASSWORDS__CONTROLLER",
    }
    assert _secrets(services["kafka"]) == broker
