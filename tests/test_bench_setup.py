"""The benches' throw-away database: beside the developer's, never the developer's own."""

from __future__ import annotations

import pytest

from bench._calendar import postgres_url


def test_a_bench_gets_its_own_postgres_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/so_dev")
    assert postgres_url("cost") == "postgres://postgres@127.0.0.1:5432/so_dev_cost"


@pytest.mark.parametrize("url", ["", "sqlite:///var/db.sqlite3"])
def test_without_postgres_the_bench_stays_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert postgres_url("booking_post") is None
