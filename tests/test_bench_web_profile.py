"""bench.http --profile-web: the gunicorn hooks profile each kind of request apart and
the reader adds the workers' files up."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from bench import gunicorn_profile


def test_requests_are_profiled_by_kind_and_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("WEB_PROFILE_DIR", str(tmp_path))
    monkeypatch.setattr(threading.Thread, "run", threading.Thread.run)  # restored after
    monkeypatch.setattr(gunicorn_profile, "_PROFILES", [])
    monkeypatch.setattr(gunicorn_profile, "_BY_KIND", {})
    monkeypatch.setattr(gunicorn_profile, "_COUNTS", {})

    gunicorn_profile.post_fork(None, None)
    try:
        for method, path in (("POST", "/api/x"), ("GET", "/healthz"), ("GET", "/healthz")):
            request = SimpleNamespace(method=method, path=path)
            gunicorn_profile.pre_request(None, request)
            sum(range(1000))
            gunicorn_profile.post_request(None, request, {}, None)
        thread = threading.Thread(target=lambda: sum(range(1000)), name="outbox-publisher")
        thread.start()
        thread.join()
    finally:
        gunicorn_profile.worker_exit(None, None)

    names = sorted(file.name.split("-", 1)[1] for file in tmp_path.glob("*.pstats"))
    assert names == ["POST.pstats", "healthz.pstats", "main.pstats", "outbox-publisher.pstats"]
    gunicorn_profile.report(str(tmp_path), 5)
    out = capsys.readouterr().out
    assert "requests: {'POST': 1, 'healthz': 2}" in out
    assert "===== POST: 1 file(s)" in out
    assert "===== outbox-publisher: 1 file(s)" in out
