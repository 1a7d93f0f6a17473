"""The app's webhooks-journal side of one emulator: its settings, subscriptions and journal, and
the observer that writes journal events for every change of the CRM data.

The emulator serves one portal with one app installed (the OAuth app of `emulators.hubspot.auth`);
`attach` makes a `Store` report its changes here, so every write the emulator can make (HubSpot's
API or the admin API) reaches the journal. Seeding writes nothing: it builds the portal as it was
before the app subscribed (EMULATOR CHOICE).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from emulators.hubspot.auth import APP_ID, HUB_ID
from emulators.hubspot.changes import Change
from emulators.hubspot.journal_events import journal_events
from emulators.hubspot.journal_settings import JournalSettings
from emulators.hubspot.journal_store import Journal
from emulators.hubspot.model import Store
from emulators.hubspot.subscription_model import Subscriptions

# The scope an install needs to hear about each object type (HubSpot's CRM scopes).
OBJECT_READ_SCOPES = {
    "contacts": "crm.objects.contacts.read",
    "companies": "crm.objects.companies.read",
    "deals": "crm.objects.deals.read",
}


@dataclass
class ClientCredentialsToken:
    """What the journal needs of a token minted by the client-credentials grant: the app's,
    not a user's or a portal's."""

    client_id: str
    scopes: tuple[str, ...]
    expires_ms: int


class Webhooks:
    """Settings, subscriptions and journal of the app, for the emulator's one portal."""

    def __init__(self, settings: JournalSettings | None = None) -> None:
        self.settings = settings or JournalSettings()
        self.app_id = APP_ID
        self.portal_id = HUB_ID
        self.subscriptions = Subscriptions()
        self.journal = Journal()
        # Signs the journal files' pre-signed URLs.
        self.url_secret = secrets.token_bytes(32)

    def attach(self, store: Store) -> None:
        """Hear about every change of this store from now on."""
        store.observer = self.observe

    def observe(self, change: Change) -> None:
        """Write the change's events for the portal's matching subscriptions."""
        settings = self.settings
        if not settings.app_installed:
            return
        if OBJECT_READ_SCOPES.get(change.object_type) in settings.withheld_scopes:
            return
        subscriptions = self.subscriptions.for_portal(self.portal_id)
        if not subscriptions:
            return
        for event in journal_events(change, subscriptions, self.portal_id, settings):
            self.journal.append(self.portal_id, event, settings)

    def installed(self, portal_id: int) -> bool:
        """Whether the app is installed in this portal."""
        return self.settings.app_installed and portal_id == self.portal_id

    def reset(self) -> None:
        """A fresh portal: no subscriptions, an empty journal (settings stay)."""
        self.subscriptions = Subscriptions()
        self.journal = Journal()

    def clear_journal(self) -> None:
        """An empty journal (the data was replaced; subscriptions stay)."""
        self.journal = Journal()

    def time_travel(self, shift_ms: int) -> None:
        """Make every journal file `shift_ms` older."""
        self.journal.time_travel(shift_ms)
