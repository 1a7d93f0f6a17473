"""The journal's admin API under `/_emulator/journal` and its helpers for tests.

- `GET|PUT /_emulator/journal/settings`: the switches of `JournalSettings` (partial update).
- `POST /_emulator/journal/publish`: publish the open files now (as a journal read would).
- `GET /_emulator/journal/files`: every published file (offset, portal, publication time,
  whether a reader sees it yet, its events) and the count of events not yet published.

`JournalAdmin` adds typed helpers for these (and for restores and privacy deletes) to the
pytest plugin's admin client; `apply_journal_marker` applies a test's
`@pytest.mark.hubspot_journal(**settings)` to the emulator fixture.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from emulators.hubspot.errors import json_response
from emulators.hubspot.journal_settings import JournalSettingsError
from emulators.hubspot.state import ADMIN_PREFIX, state_of
from emulators.hubspot.timeutil import iso_ms

JOURNAL_ADMIN = ADMIN_PREFIX + "/journal"
MARKER = "hubspot_journal"


async def get_settings(request: web.Request) -> web.Response:
    """`GET /_emulator/journal/settings`."""
    return json_response(state_of(request).webhooks.settings.to_json())


async def put_settings(request: web.Request) -> web.Response:
    """`PUT /_emulator/journal/settings`: a partial object of journal settings."""
    settings = state_of(request).webhooks.settings
    try:
        settings.update(msgspec.json.decode(await request.read() or b"{}"))
    except (JournalSettingsError, msgspec.DecodeError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response(settings.to_json())


async def publish(request: web.Request) -> web.Response:
    """`POST /_emulator/journal/publish`: publish the open files and drop expired ones."""
    webhooks = state_of(request).webhooks
    webhooks.journal.refresh(webhooks.settings)
    return json_response({"files": len(webhooks.journal.files)})


async def list_files(request: web.Request) -> web.Response:
    """`GET /_emulator/journal/files`: the published files and the unpublished event count."""
    webhooks = state_of(request).webhooks
    journal = webhooks.journal
    shown = {f.offset for f in journal.visible(webhooks.settings, None)}
    files = [
        {
            "offset": f.offset,
            "portalId": f.portal_id,
            "publishedAt": iso_ms(f.published_ms),
            "visible": f.offset in shown,
            "events": f.events,
        }
        for f in journal.files
    ]
    return json_response({"files": files, "pending_events": journal.pending_count()})


def add_journal_admin_routes(app: web.Application) -> None:
    """Register the journal's admin routes."""
    app.router.add_get(JOURNAL_ADMIN + "/settings", get_settings)
    app.router.add_put(JOURNAL_ADMIN + "/settings", put_settings)
    app.router.add_post(JOURNAL_ADMIN + "/publish", publish)
    app.router.add_get(JOURNAL_ADMIN + "/files", list_files)


class JournalAdmin:
    """Typed helpers over the journal's admin API (mixed into the pytest plugin's client)."""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One admin call (provided by the client this is mixed into)."""
        raise NotImplementedError

    def journal_settings(self) -> dict[str, Any]:
        """The journal's switches."""
        result: dict[str, Any] = self.call("GET", "/journal/settings")
        return result

    def set_journal(self, **settings: Any) -> dict[str, Any]:
        """Change journal switches (see `JournalSettings`); returns all of them."""
        result: dict[str, Any] = self.call("PUT", "/journal/settings", settings)
        return result

    def publish_journal(self) -> int:
        """Publish the open journal files now; returns how many files the journal holds."""
        files: int = self.call("POST", "/journal/publish")["files"]
        return files

    def journal_files(self) -> list[dict[str, Any]]:
        """Every published file with its events (``offset``, ``portalId``, ``publishedAt``,
        ``visible``, ``events``)."""
        files: list[dict[str, Any]] = self.call("GET", "/journal/files")["files"]
        return files

    def journal_events(self) -> list[dict[str, Any]]:
        """Every event of every published file, in journal order (publishes first)."""
        self.publish_journal()
        return [event for f in self.journal_files() for event in f["events"]]

    def restore(self, object_type: str, record_id: str | int) -> dict[str, Any]:
        """Bring an archived record back."""
        result: dict[str, Any] = self.call("POST", f"/objects/{object_type}/{record_id}/restore")
        return result

    def privacy_delete(self, object_type: str, record_id: str | int) -> None:
        """Delete a record permanently as a privacy (GDPR) request does."""
        self.call("POST", f"/objects/{object_type}/{record_id}/purge", {"privacy": True})


def register_marker(config: Any) -> None:
    """Declare the marker to pytest (the project runs with --strict-markers)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): JournalSettings for the hubspot_emulator fixture",
    )


def apply_journal_marker(node: Any, client: JournalAdmin) -> None:
    """Apply the test's `@pytest.mark.hubspot_journal(**settings)`, if any."""
    marker = node.get_closest_marker(MARKER)
    if marker is not None:
        client.set_journal(**marker.kwargs)
