"""Connection and behaviour settings, read from `DUALSYNC_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync_service.command_signing import (
    CommandSigner,
    CommandVerifier,
    SigningKey,
    weak_key_problem,
)

__all__ = ["MissingSetting", "Settings", "get_settings"]


class MissingSetting(ValueError):
    """A setting the process cannot start without is not set; the message names it."""


class Settings(BaseSettings):
    """Everything a dualsync process needs to know; defaults point at the local stack."""

    # An invalid setting may be a secret (a weak key): its error never repeats the value.
    # `__` nests: DUALSYNC_KAFKA_PASSWORDS__API is kafka_passwords["api"].
    model_config = SettingsConfigDict(
        env_prefix="DUALSYNC_",
        extra="ignore",
        hide_input_in_errors=True,
        env_nested_delimiter="__",
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated"
    )
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT"] = Field(
        default="SASL_PLAINTEXT",
        description="how clients reach Kafka: SASL_SSL in production, SASL_PLAINTEXT on the "
        "local stack (127.0.0.1 only), PLAINTEXT only for a bare development broker without "
        "authentication (then no principal and no ACL applies)",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="the SASL mechanism of every dualsync principal"
    )
    kafka_ssl_cafile: str | None = Field(
        default=None,
        description="CA certificate (PEM) that signed the brokers' certificates, for SASL_SSL; "
        "unset = the system's trusted CAs",
    )
    kafka_passwords: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="each role's Kafka password, e.g. DUALSYNC_KAFKA_PASSWORDS__API, "
        "DUALSYNC_KAFKA_PASSWORDS__COMMAND_PROCESSOR (`scripts/stack.sh env` prints the local "
        "ones); only the roles of the services a process runs are needed",
    )
    kafka_usernames: dict[str, str] = Field(
        default_factory=dict,
        description="a role's Kafka principal name when it is not dualsync-<role>, e.g. "
        "DUALSYNC_KAFKA_USERNAMES__ERP",
    )
    database_url: str = Field(
        default="postgresql+asyncpg://dualsync:dualsync@127.0.0.1:5432/dualsync",
        description="SQLAlchemy URL of the PostgreSQL database (asyncpg driver)",
    )
    topic_prefix: str = Field(
        default="", description="prefix added to every topic name (isolates tests or tenants)"
    )
    connect_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="how long a one-off command tries to reach Kafka or PostgreSQL before it "
        "exits; also the bound of each connection attempt",
    )
    start_wait_s: float | None = Field(
        default=None,
        gt=0,
        description="how long a service waits for Kafka and PostgreSQL before it exits; "
        "unset = until they answer",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="port (on api_host) of /metrics for `dualsync run <service>` without the "
        "API; 0 = off",
    )
    admin_token: SecretStr | None = Field(
        default=None, description="bootstrap Administrator credential for the portal API"
    )
    allow_weak_admin_token: bool = Field(
        default=False,
        description="development only: start the API with a short, low-entropy or well-known "
        "admin_token instead of refusing it",
    )
    command_signing_key: SecretStr | None = Field(
        default=None,
        description="key the API signs portal commands with and the command processor verifies "
        "(HMAC-SHA256; at least 43 random characters); both refuse to start without one",
    )
    command_signing_previous_keys: SecretStr | None = Field(
        default=None,
        description="earlier signing keys, comma-separated: commands they signed are still "
        "accepted while a new key is rolled out; never used to sign",
    )
    invitation_ttl_days: int = Field(default=7, ge=1)
    credential_ttl_days: float = Field(
        default=90.0,
        gt=0,
        description="how long a credential minted by redeeming an invitation works (days; "
        "fractions allowed); then it gets 401 and the contact redeems a new invitation",
    )
    default_company: str = Field(
        default="usmf", description="legal entity of a message whose record names none yet"
    )
    command_wait_s: float = Field(
        default=5.0, ge=0, description="how long the API waits for a command's outcome"
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="request body cap")
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="cap on a request's headers (names and values together); larger gets 431",
    )
    allowed_hosts: str = Field(
        default="127.0.0.1,localhost,[::1]",
        description="host names the API answers to, comma-separated, any port (a bracketed "
        "IPv6 address; `*.example.com` for its subdomains; `*` for any); another Host gets 400, "
        "which stops DNS rebinding",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="addresses of proxies whose X-Forwarded-For/-Proto are believed, "
        "comma-separated (addresses or networks); empty = none: the client is the peer",
    )
    bearer_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="failed bearer authentications per client address before it must wait "
        "(shared by every API process)",
    )
    docs_ui: bool = Field(
        default=False,
        description="serve Swagger UI at /docs (it loads its assets from a CDN: development "
        "only); /openapi.json is always served",
    )
    redeem_failures_per_minute: int = Field(
        default=5, ge=1, description="failed redemptions per client before it must wait"
    )
    signin_failures_per_minute: int = Field(
        default=5,
        ge=1,
        description="failed portal sign-ins per client address, and per e-mail address, before "
        "it must wait (shared by every API process)",
    )
    session_idle_s: float = Field(
        default=30 * 60.0,
        gt=0,
        description="a portal session ends after this long without a request",
    )
    session_max_s: float = Field(
        default=12 * 3600.0,
        gt=0,
        description="a portal session ends this long after sign-in, however active",
    )
    lag_stuck_after_s: float = Field(
        default=60.0, gt=0, description="a partition with lag whose offset stays this long is stuck"
    )
    lag_sample_s: float = Field(
        default=15.0, gt=0, description="how often the API samples lag for its Prometheus gauges"
    )
    alert_deadletters: int = Field(
        default=10,
        ge=0,
        description="dead letters of one map within alert_window_s that pause it; 0 = off",
    )
    alert_window_s: float = Field(
        default=300.0, ge=0, description="the alert threshold's window in seconds; 0 = off"
    )
    poison_attempts: int = Field(
        default=5,
        ge=1,
        description="attempts after which an unexpected failure that repeats on one record "
        "settles it (a rejected outcome or a dead letter) so that its partition moves on",
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: readable in a terminal, JSON otherwise"
    )

    @field_validator("command_signing_key", "command_signing_previous_keys")
    @classmethod
    def _strong_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        keys = _keys_in(value) if info.field_name == "command_signing_previous_keys" else []
        if info.field_name == "command_signing_key" and value is not None:
            keys = [value.get_secret_value()]
        # The message names the rule, never the key.
        for key in keys:
            if (problem := weak_key_problem(key)) is not None:
                raise ValueError(f"a command signing key {problem}")
        return value

    def command_signer(self) -> CommandSigner:
        """The signer of the API's commands; MissingSetting when no key is configured."""
        return CommandSigner(self._current_signing_key())

    def command_verifier(self) -> CommandVerifier:
        """The command processor's verifier: the current key and the previous ones."""
        previous = [
            SigningKey.from_text(key) for key in _keys_in(self.command_signing_previous_keys)
        ]
        return CommandVerifier([self._current_signing_key(), *previous])

    def _current_signing_key(self) -> SigningKey:
        if self.command_signing_key is None:
            raise MissingSetting(
                "DUALSYNC_COMMAND_SIGNING_KEY is not set: the portal API and the command processor "
                "need the same key to sign and verify commands"
            )
        return SigningKey.from_text(self.command_signing_key.get_secret_value())

    def allowed_host_names(self) -> list[str]:
        """`allowed_hosts` as a list, lower-cased."""
        return [name.strip().lower() for name in self.allowed_hosts.split(",") if name.strip()]

    def topic(self, name: str) -> str:
        """The physical topic name for a contract topic name."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """The Kafka consumer group id for a logical consumer name.

        Prefixed like topics, so that two deployments (or two test runs) sharing one cluster never
        join each other's groups: a member joining or leaving another's group forces a rebalance.
        The logical name stays what the database records (processed messages, dead letters).
        """
        return f"{self.topic_prefix}{name}"


def _keys_in(value: SecretStr | None) -> list[str]:
    """The keys of a signing-key setting (several, comma-separated, for the previous ones)."""
    if value is None:
        return []
    return [key.strip() for key in value.get_secret_value().split(",") if key.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
