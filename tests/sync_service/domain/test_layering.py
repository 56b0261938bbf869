"""The domain rules import no infrastructure: no database, web framework or Kafka client."""

from __future__ import annotations

import subprocess
import sys


def test_the_domain_imports_no_infrastructure() -> None:
    # A fresh interpreter: this test process has them loaded by other tests already.
    code = (
        "import sys, sync_service.domain.roles, sync_service.domain.orders,"
        " sync_service.domain.invitations, sync_service.domain.credentials,"
        " sync_service.domain.visibility, sync_service.domain.erp_trust;"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'sqlalchemy', 'asyncpg', 'fastapi', 'aiokafka', 'faststream'}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
