#!/usr/bin/env python3
"""Is a Kafka broker ready? Authenticates, sends one Metadata request, checks that a broker answers.

Standard library only, so that the stack script can use it before any virtualenv exists.
Authentication is SASL/SCRAM-SHA-512 (RFC 5802) as DUALSYNC_KAFKA_READY_USER with
DUALSYNC_KAFKA_READY_PASSWORD (environment, never argv: argv is visible to every local user);
without a user it asks unauthenticated (a PLAINTEXT broker). Kafka 4 dropped the oldest
protocol versions; SaslHandshake v1, SaslAuthenticate v0 and Metadata v4 are still served.
Exit 0 when a broker lists itself, 1 otherwise (the reason on stderr).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import socket
import struct
import sys

API_METADATA, METADATA_VERSION = 3, 4
API_SASL_HANDSHAKE, SASL_HANDSHAKE_VERSION = 17, 1
API_SASL_AUTHENTICATE, SASL_AUTHENTICATE_VERSION = 36, 0
MECHANISM = "SCRAM-SHA-512"
CLIENT_ID = b"dualsync-ready"


class Refused(Exception):
    """The broker answered but refused (authentication, or an error code)."""


def _string(value: bytes) -> bytes:
    return struct.pack(">h", len(value)) + value


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._correlation = 0

    def ask(self, api_key: int, version: int, body: bytes) -> bytes:
        self._correlation += 1
        header = struct.pack(">hhi", api_key, version, self._correlation) + _string(CLIENT_ID)
        payload = header + body
        self._sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._read_exactly(4))
        answer = self._read_exactly(size)
        return answer[4:]  # past the correlation id

    def _read_exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("connection closed by peer before a full answer")
            chunks += chunk
        return bytes(chunks)


def _authenticate_step(conn: _Connection, message: bytes) -> bytes:
    answer = conn.ask(
        API_SASL_AUTHENTICATE, SASL_AUTHENTICATE_VERSION, struct.pack(">i", len(message)) + message
    )
    (error,) = struct.unpack(">h", answer[:2])
    (text_len,) = struct.unpack(">h", answer[2:4])
    offset = 4 + max(text_len, 0)
    if error:
        text = answer[4:offset].decode("utf-8", "replace") if text_len > 0 else ""
        raise Refused(f"authentication failed (error {error}): {text}")
    (size,) = struct.unpack(">i", answer[offset : offset + 4])
    return answer[offset + 4 : offset + 4 + size]


def _scram_name(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def scram_authenticate(conn: _Connection, user: str, password: str) -> None:
    """SASL handshake, then the SCRAM-SHA-512 exchange; raise Refused when the broker says no."""
    answer = conn.ask(API_SASL_HANDSHAKE, SASL_HANDSHAKE_VERSION, _string(MECHANISM.encode()))
    (error,) = struct.unpack(">h", answer[:2])
    if error:
        raise Refused(f"the broker does not offer {MECHANISM} (error {error})")
    nonce = secrets.token_urlsafe(18)
    first_bare = f"n={_scram_name(user)},r={nonce}"
    server_first = _authenticate_step(conn, f"n,,{first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields["r"].startswith(nonce):
        raise Refused("the broker's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", "sha512")
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.sha512(client_key).digest(), auth_message, "sha512")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    server_final = _authenticate_step(conn, final.encode()).decode()
    server_key = hmac.digest(salted, b"Server Key", "sha512")
    expected = base64.b64encode(hmac.digest(server_key, auth_message, "sha512")).decode()
    if server_final != f"v={expected}":
        raise Refused("the broker's SCRAM signature is wrong")


def broker_count(host: str, port: int, timeout: float, user: str | None, password: str) -> int:
    """Return how many brokers the cluster's metadata lists (after authenticating as `user`)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        conn = _Connection(sock)
        if user:
            scram_authenticate(conn, user, password)
        # topics: empty array (no topic data wanted), allow_auto_topic_creation: false
        answer = conn.ask(API_METADATA, METADATA_VERSION, struct.pack(">i?", 0, False))
    # throttle time (int32), then the brokers array's length (int32)
    _throttle, brokers = struct.unpack(">ii", answer[:8])
    return int(brokers)


def main(argv: list[str]) -> int:
    address = argv[1] if len(argv) > 1 else "127.0.0.1:9092"
    timeout = float(argv[2]) if len(argv) > 2 else 2.0
    host, _, port = address.rpartition(":")
    user = os.environ.get("DUALSYNC_KAFKA_READY_USER") or None
    password = os.environ.get("DUALSYNC_KAFKA_READY_PASSWORD", "")
    try:
        brokers = broker_count(host, int(port), timeout, user, password)
    except (OSError, ValueError, KeyError, struct.error, Refused) as exc:
        print(f"no Kafka answer at {address}: {exc}", file=sys.stderr)
        return 1
    if brokers < 1:
        print(f"Kafka at {address} answers but lists no broker yet", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
