"""What the zone picker shows and searches: CLDR names in the reader's locale, one per place."""

from __future__ import annotations

import pytest

from accounts.timezones import time_zone_entries

pytestmark = pytest.mark.django_db


def _entry(locale: str, zone: str) -> dict[str, str]:
    return next(entry for entry in time_zone_entries(locale) if entry["id"] == zone)


def test_friendly_names_cities_countries_and_abbreviations():
    assert _entry("en-US", "America/New_York") == {
        "id": "America/New_York",
        "name": "Eastern Time",
        "city": "New York",
        "country": "United States",
        "abbr": "ET",
    }
    berlin = _entry("de-DE", "Europe/Berlin")
    assert (berlin["name"], berlin["country"], berlin["abbr"]) == (
        "Mitteleuropäische Zeit",
        "Deutschland",
        "MEZ",
    )
    assert _entry("en-US", "America/Argentina/Buenos_Aires")["name"] == (
        "Argentina (Buenos Aires) Time"
    )
    assert _entry("de-DE", "UTC")["name"] == "Koordinierte Weltzeit"


def test_one_entry_per_place_under_todays_name():
    ids = {entry["id"] for entry in time_zone_entries("en-US")}
    assert {"Asia/Kolkata", "Europe/Kyiv", "America/Indiana/Indianapolis"} <= ids
    assert not {"Asia/Calcutta", "Europe/Kiev", "America/Indianapolis"} & ids


def test_the_pickers_data_is_served_in_the_asked_locale(client):
    answer = client.get("/time-zones.json?locale=de-DE")
    assert answer.status_code == 200
    assert answer.json()["locale"] == "de-DE"
    names = {zone["id"]: zone["name"] for zone in answer.json()["zones"]}
    assert names["Europe/Berlin"] == "Mitteleuropäische Zeit"
    fallback = client.get("/time-zones.json?locale=xx", headers={"accept-language": "en-GB"})
    assert fallback.json()["locale"] == "en-GB"
