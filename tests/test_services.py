"""CI promises real PostgreSQL and Redis; make sure the suite really ran on them."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.support.services import redis_available, require_services


@pytest.mark.skipif(not require_services(), reason="only with REQUIRE_SERVICES=1 (CI)")
def test_ci_runs_on_postgresql_and_redis():
    assert connection.vendor == "postgresql"
    assert redis_available()
