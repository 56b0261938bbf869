#!/usr/bin/env python3
"""Is a Kafka broker ready? Sends one Metadata request and checks that a broker answers.

Standard library only, so that the stack script can use it before any virtualenv exists.
Kafka 4 dropped the oldest protocol versions; Metadata v4 is the oldest one it still serves.
Exit 0 when a broker lists itself, 1 otherwise (the reason on stderr).
"""

from __future__ import annotations

import socket
import struct
import sys

API_METADATA = 3
METADATA_VERSION = 4
CLIENT_ID = b"dualsync-ready"


def _request() -> bytes:
    header = struct.pack(">hhih", API_METADATA, METADATA_VERSION, 1, len(CLIENT_ID)) + CLIENT_ID
    # topics: empty array (no topic data wanted), allow_auto_topic_creation: false
    body = struct.pack(">i?", 0, False)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by peer before a full answer")
        chunks += chunk
    return bytes(chunks)


def broker_count(host: str, port: int, timeout: float) -> int:
    """Return how many brokers the cluster's metadata lists."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(_request())
        (size,) = struct.unpack(">i", _read_exactly(sock, 4))
        answer = _read_exactly(sock, size)
    # correlation id (int32), throttle time (int32), then the brokers array's length (int32)
    _correlation, _throttle, brokers = struct.unpack(">iii", answer[:12])
    return int(brokers)


def main(argv: list[str]) -> int:
    address = argv[1] if len(argv) > 1 else "127.0.0.1:9092"
    timeout = float(argv[2]) if len(argv) > 2 else 2.0
    host, _, port = address.rpartition(":")
    try:
        brokers = broker_count(host, int(port), timeout)
    except (OSError, ValueError, struct.error) as exc:
        print(f"no Kafka answer at {address}: {exc}", file=sys.stderr)
        return 1
    if brokers < 1:
        print(f"Kafka at {address} answers but lists no broker yet", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
