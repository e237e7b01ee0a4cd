"""ops/prometheus/alerts.yml: promtool accepts it and its unit tests pass, every metric
and label value it names is one /metrics really serves, and the README documents
every alert by name.

promtool comes with Debian's ``prometheus`` package (``.ci/run`` installs it); without
it the promtool checks are skipped, or fail under ``REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from booking.services.pages import page_create
from ops.metrics import STATUS_CLASSES
from tests.conftest import _skip_or_fail
from tests.ops.test_metrics import TOKEN, known_state, scrape  # noqa: F401 (a fixture)

RULES_DIR = Path(settings.BASE_DIR) / "ops" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
# Prometheus' own series, which no application serves.
PROMETHEUS_OWN = {"up"}
SELECTOR = re.compile(r"\b([a-z_][a-z0-9_]*)\{([^}]*)\}|\b(scheduleonce_[a-z0-9_]+)\b")
MATCHER = re.compile(r'([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"')


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric name, [(label, operator, value)]) for every series the expression reads."""
    found = []
    for match in SELECTOR.finditer(expr):
        name = match.group(1) or match.group(3)
        matchers = MATCHER.findall(match.group(2) or "")
        found.append((name, matchers))
    return found


def _routes(patterns=None, prefix: str = "") -> set[str]:
    """Every URL pattern as ``resolver_match.route`` names it."""
    routes = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        here = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes |= _routes(entry.url_patterns, here)
        elif isinstance(entry, URLPattern):
            routes.add(here)
    return routes


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        _skip_or_fail("promtool is not installed (Debian package prometheus)")
    return path


def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    promtool = _promtool()
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"],
        cwd=RULES_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_rule_has_a_severity_a_summary_and_the_runbook():
    rules = _rules()
    assert len(rules) >= 10
    for rule in rules:
        assert rule["alert"].startswith("ScheduleOnce"), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert "Alerts worth setting" in rule["annotations"]["runbook"], rule["alert"]


@pytest.mark.django_db
def test_every_metric_and_label_value_the_rules_name_is_served(client, host, known_state):  # noqa: F811
    # Requests the histogram then holds (a booking page and its slots API among them).
    page_create(host=host, fields={"title": "Intro", "slug": "intro"})
    client.get("/book/intro/")
    client.get("/api/booking-pages/intro/slots", {"start": "2026-12-01", "end": "2026-12-01"})
    samples = scrape(client)
    served: dict[str, dict[str, set[str]]] = {}
    for name, labels in samples:
        values = served.setdefault(name, {})
        for label, label_value in labels:
            values.setdefault(label, set()).add(label_value)
    # What a label can hold beyond what this scrape happened to see.
    possible = {"status": set(STATUS_CLASSES), "route": _routes()}

    named = 0
    for rule in _rules():
        for name, matchers in _selectors(rule["expr"]):
            if name in PROMETHEUS_OWN:
                continue
            named += 1
            assert name in served, f"{rule['alert']}: /metrics serves no {name}"
            for label, operator, wanted in matchers:
                known = served[name].get(label, set()) | possible.get(label, set())
                assert known, f"{rule['alert']}: {name} has no label {label}"
                if operator == "=":
                    assert wanted in known, f"{rule['alert']}: {name}{{{label}={wanted!r}}}"
                elif operator == "=~":
                    pattern = re.compile(wanted)
                    assert any(pattern.fullmatch(v) for v in known), (rule["alert"], wanted)
    assert named >= 12


def test_the_readme_points_at_the_rules_and_names_every_alert():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert "ops/prometheus/alerts.yml" in readme
    for rule in _rules():
        assert f"`{rule['alert']}`" in readme, rule["alert"]


def test_a_request_is_timed_under_its_route_not_its_path(client, host):
    page_create(host=host, fields={"title": "Intro", "slug": "intro"})
    client.get("/book/intro/")
    client.get("/book/nobody-has-this/")
    client.get("/no/such/address")
    samples = scrape(client)

    def count(**labels: str) -> float:
        key = ("scheduleonce_http_request_seconds_count", tuple(sorted(labels.items())))
        return samples.get(key, 0.0)

    assert count(route="book/<str:slug>/", method="GET", status="2xx") >= 1
    assert count(route="book/<str:slug>/", method="GET", status="4xx") >= 1
    assert count(route="unmatched", method="GET", status="4xx") >= 1
    paths = {dict(labels).get("route") for _name, labels in samples}
    assert "/book/intro/" not in paths
    assert "book/intro/" not in paths
