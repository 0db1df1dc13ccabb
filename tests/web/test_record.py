"""An outage record a citizen can cite: times in EAT, duration, updates, checks, reports per hour, a hash."""

from __future__ import annotations

import hashlib
import json
import re

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.core.clock import FrozenClock
from bot.core.reports import ReportDraft
from bot.core.understanding import Symptom
from bot.web import incident_url
from tests.web.conftest import PUBLIC_URL, refresh

Client = TestClient[web.Request, web.Application]


def test_incident_url_is_the_records_stable_address() -> None:
    assert incident_url("https://hali.example/", 12) == "https://hali.example/incidents/12"
    assert incident_url("https://example.org/status", 7) == "https://example.org/status/incidents/7"


async def test_the_record_says_when_it_started_and_ended_and_what_was_seen(
    client: Client, hali: App, web_app: web.Application, seeded: dict[str, int], clock: FrozenClock
) -> None:
    incident = await hali.store.incident(seeded["resolved"])
    # Three citizens reported the outage while it lasted.
    saved = clock.now
    clock.now = incident.opened_at
    for chat in (11, 12, 13):
        await hali.reports.submit(ReportDraft("kra", Symptom.SITE_DOWN, None, chat, "en", False))
    clock.now = saved
    await refresh(web_app)

    html = await (await client.get(f"/incidents/{seeded['resolved']}")).text()
    # Opened 25 Nov 2026 05:00 UTC, 08:00 in Nairobi, twenty minutes after the checks began to fail.
    assert "<td>25 Nov 2026, 08:00 EAT</td>" in html  # started, in East Africa Time
    assert "<td>25 Nov 2026, 10:40 EAT</td>" in html  # ended
    assert "<td>2 hours 40 minutes</td>" in html
    assert "We are looking into it" in html and "iTax is back" in html
    assert html.count("First failure") == 1
    assert "First failure 25 Nov 2026, 07:40 EAT, last failure 25 Nov 2026, 10:35 EAT" in html
    assert "an error page (HTTP 503) (36 times)" in html
    assert re.search(r"<td>25 Nov 2026, 08:00 EAT</td><td>3</td>", html)
    assert f'href="{PUBLIC_URL}incidents/{seeded["resolved"]}?lang=en"' in html  # the canonical address

    data = await (await client.get(f"/incidents/{seeded['resolved']}.json")).read()
    digest = hashlib.sha256(data).hexdigest()
    assert digest in html
    facts = json.loads(data)
    assert facts["incident"] == seeded["resolved"] and facts["service"] == "kra"
    assert facts["checks"][0]["failures"] == 36 and facts["checks"][0]["reasons"] == {"http_status 503": 36}
    assert facts["reports_per_hour"] == [{"hour": "2026-11-25T05:00:00+00:00", "reports": 3}]
    assert "Last changed: 25 Nov 2026, 10:40 EAT" in html

    swahili = await (await client.get(f"/incidents/{seeded['resolved']}?lang=sw")).text()
    assert "iTax haipatikani" in swahili and "iTax imerejea" in swahili
    assert digest in swahili  # the same facts, whatever the language


async def test_an_open_incidents_record_changes_as_it_goes_on(
    client: Client, hali: App, web_app: web.Application, seeded: dict[str, int], clock: FrozenClock
) -> None:
    path = f"/incidents/{seeded['open']}"
    first = await client.get(path + ".json")
    html = await (await client.get(path)).text()
    assert "Not yet: the incident is still open" in html and "so far" in html
    assert "Hali does not check this service automatically." in html or "checks saw no failure" in html
    from bot.catalog.model import Text

    clock.advance(minutes=10)
    await hali.store.update_incident(seeded["open"], Text("Fixed for most payments"), actor="cli")
    await refresh(web_app)
    second = await client.get(path + ".json", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status == 200
    assert hashlib.sha256(await second.read()).hexdigest() != hashlib.sha256(await first.read()).hexdigest()
