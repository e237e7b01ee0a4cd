"""Every public request reads its page by slug: the read is compiled once per process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from booking.selectors import public_page_for

pytestmark = pytest.mark.django_db


def test_the_page_at_a_slug_is_read_without_compiling_its_query_again(page, monkeypatch):
    public_page_for(slug=page.slug)  # the first read of each shape compiles it
    public_page_for(slug=page.slug, with_host=False)
    compiled = []
    real = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda *a, **k: compiled.append(1) or real(*a, **k))

    found = public_page_for(slug=page.slug)
    light = public_page_for(slug=page.slug, with_host=False)
    assert public_page_for(slug=page.slug + "-gone") is None
    assert compiled == []

    assert found == light == page
    with CaptureQueriesContext(connection) as queries:
        assert found.host.email == page.host.email  # read with the page
    assert len(queries) == 0
    assert found.title == page.title
    assert light.is_active == page.is_active
