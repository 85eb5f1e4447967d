"""Which PostgreSQL versions the sandbox's RDS offers, as RDS does."""

from __future__ import annotations

import pytest

from loono_infra.sandbox.server.strictness import postgres_version_exists


@pytest.mark.parametrize("version", ["12", "12.5", "12.22", "16", "16.4", "17.1"])
def test_offered(version: str) -> None:
    assert postgres_version_exists(version)


@pytest.mark.parametrize("version", ["12.99", "12.1", "9", "9.6", "18", "12.x", "", "x"])
def test_not_offered(version: str) -> None:
    assert not postgres_version_exists(version)
