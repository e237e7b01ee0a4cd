"""The demo tenant the sandbox seeds: one directory, two people, one room, one app.

``scheduleonce/settings.py`` configures the product with ``DEMO_CLIENT_ID`` and
``DEMO_CLIENT_SECRET`` when the sandbox is on (a test checks they agree).
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_TENANT_ID = "7c2b8e1a-3f0d-4e5b-9a6c-1d2e3f4a5b6c"
DEMO_TENANT_NAME = "Contoso (Graph sandbox)"
DEMO_TENANT_DOMAIN = "contoso.example"

DEMO_APP_NAME = "ScheduleOnce"
DEMO_CLIENT_ID = "5d1e8a36-0c6b-4a57-9f0e-5a2d1c0b7e41"
DEMO_CLIENT_SECRET = "Sbx8Q~demo-client-secret-for-the-graph-sandbox"
CALLBACK_PATH = "/setup/integration/calendar/office365/callback/"
# The port of a loopback redirect URI does not matter (see identity.registrations).
DEMO_REDIRECT_URIS = [
    f"http://127.0.0.1:8000{CALLBACK_PATH}",
    f"http://localhost:8000{CALLBACK_PATH}",
]

# Every demo person signs in with this password.
DEMO_PASSWORD = "sandbox-password"


@dataclass(frozen=True)
class DemoPerson:
    address: str
    display_name: str
    given_name: str
    surname: str
    job_title: str
    time_zone: str
    object_id: str


ADELE = DemoPerson(
    address="adele@contoso.example",
    display_name="Adele Vance",
    given_name="Adele",
    surname="Vance",
    job_title="Product Manager",
    time_zone="Europe/London",
    object_id="0b1e3c2a-6f4d-4c8e-9a1b-2c3d4e5f6a01",
)
MEGAN = DemoPerson(
    address="megan@contoso.example",
    display_name="Megan Bowen",
    given_name="Megan",
    surname="Bowen",
    job_title="Marketing Manager",
    time_zone="America/New_York",
    object_id="0b1e3c2a-6f4d-4c8e-9a1b-2c3d4e5f6a02",
)
RAINIER = DemoPerson(
    address="rainier@contoso.example",
    display_name="Conference Room Rainier",
    given_name="",
    surname="",
    job_title="",
    time_zone="Europe/London",
    object_id="0b1e3c2a-6f4d-4c8e-9a1b-2c3d4e5f6a03",
)
PEOPLE = (ADELE, MEGAN)
ROOMS = (RAINIER,)
