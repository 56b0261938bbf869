"""An empty database of its own for each migration test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _admin, _drop
from tests.stack import Stack


@pytest.fixture
async def empty_database_url(stack: Stack) -> AsyncIterator[str]:
    """A database that no migration has touched yet."""
    name = f"dualsync_test_empty_{uuid.uuid4().hex[:12]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    yield make_url(stack.database_url).set(database=name).render_as_string(hide_password=False)
    await _drop(stack, name)  # waits out an autovacuum worker, as every test database does
