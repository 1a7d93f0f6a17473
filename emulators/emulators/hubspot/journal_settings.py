"""The webhooks journal's switches: retention, visibility delay and the faults a reader must
survive (duplicated and shuffled events, a DELETE alongside each MERGE, 5xx answers, an app
that is not installed or lacks scopes).

Defaults are HubSpot's documented behaviour where there is one (retention: "the past 3 days",
https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/journal-entries/guide)
and the plainest choice where HubSpot is silent. They change at run time through
`PUT /_emulator/journal/settings`, on the command line (`--journal-*`) and per test with the
`hubspot_journal` pytest marker.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from emulators.common import settings as typed

MS_PER_DAY = 86_400_000
# Every HubSpot-side status the error switch may answer (5xx only: the switch is for outages).
ERROR_STATUSES = frozenset({500, 502, 503, 504, 524})


class JournalSettingsError(ValueError):
    """A journal setting given to the admin API or the command line is malformed."""


@dataclass
class JournalSettings:
    """Run-time switches of the journal (see the README's journal section)."""

    # Files older than this are gone; `next` from their offsets answers 404 (HubSpot keeps
    # "the past 3 days", journal-entries guide above).
    retention_days: float = 3.0
    # A published file becomes visible this many seconds later (HubSpot's lag is undocumented:
    # 0 by default, raise it to test a reader that polls before the entries appear).
    visibility_delay_s: float = 0.0
    # Every event is written twice in its file, the copy after the other events (delivery is
    # at-least-once in HubSpot's other webhooks, https://developers.hubspot.com/docs/guides/webhooks/create-generic-webhook-subscriptions).
    duplicate_events: bool = False
    # Events inside each file in a random (seeded) order (push webhooks are explicitly
    # unordered; the journal's order within a file is undocumented).
    shuffle_events: bool = False
    shuffle_seed: int = 0
    # A merge also writes a DELETE for each id it made disappear (undocumented either way).
    merge_deletes: bool = False
    # Every journal and subscription call answers this 5xx status (null: off).
    error_status: int | None = None
    # False: the app is not installed in the emulator's portal (subscriptions for it are
    # refused, the local journal refuses it, no events are written).
    app_installed: bool = True
    # Scopes the app does not hold: journal scopes are dropped from its client-credentials
    # tokens, object scopes (crm.objects.contacts.read, ...) from its install in the portal.
    withheld_scopes: list[str] = field(default_factory=list)
    # A file is published when it holds this many events (or at the next journal read).
    # "up to 10,000" events per file is reported by others, unverified.
    file_max_events: int = 10_000
    # Lifetime of a file's pre-signed URL (HubSpot's is undocumented; 15 minutes).
    url_lifetime_s: float = 900.0

    @property
    def retention_ms(self) -> int:
        """The retention in milliseconds."""
        return int(self.retention_days * MS_PER_DAY)

    def to_json(self) -> dict[str, Any]:
        """The settings as the admin API shows them."""
        return typed.settings_json(self)

    def update(self, changes: Any) -> None:
        """Apply a partial JSON object of settings, refusing unknown names and wrong types."""
        for name, value in READER.changes(changes).items():
            setattr(self, name, value)

    def validate(self) -> None:
        """Refuse settings the journal cannot honour."""
        READER.check(self.to_json())


NON_NEGATIVE = typed.Setting.of(typed.is_non_negative, "a non-negative number")
# What each setting accepts, in the order its problems are reported.
READER = typed.SettingsReader(
    JournalSettings,
    {
        "retention_days": NON_NEGATIVE,
        "visibility_delay_s": NON_NEGATIVE,
        "url_lifetime_s": NON_NEGATIVE,
        "duplicate_events": typed.BOOLEAN,
        "shuffle_events": typed.BOOLEAN,
        "merge_deletes": typed.BOOLEAN,
        "app_installed": typed.BOOLEAN,
        "file_max_events": typed.Setting.of(typed.integer_from(1), "an integer >= 1"),
        "shuffle_seed": typed.Setting.of(typed.integer_from(0), "an integer >= 0"),
        "error_status": typed.Setting.of(
            lambda v: v in ERROR_STATUSES,
            f"null or one of {', '.join(map(str, sorted(ERROR_STATUSES)))}",
            nullable=True,
        ),
        "withheld_scopes": typed.Setting.of(typed.is_string_list, "a list of scope names"),
    },
    JournalSettingsError,
    not_an_object="send a JSON object of journal settings",
    unknown_keys="unknown journal settings: {unknown}; known: {known}",
)


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The `--journal-*` options of `hubspot-emulator`."""
    group = parser.add_argument_group("webhooks journal")
    group.add_argument(
        "--journal-retention-days", type=float, default=None, help="Journal retention (3)."
    )
    group.add_argument(
        "--journal-visibility-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Seconds before a published journal file becomes visible (0).",
    )
    group.add_argument(
        "--journal-duplicate-events", action="store_true", help="Write every event twice."
    )
    group.add_argument(
        "--journal-shuffle-events", action="store_true", help="Shuffle events within a file."
    )
    group.add_argument(
        "--journal-merge-deletes", action="store_true", help="Write a DELETE alongside a MERGE."
    )
    group.add_argument(
        "--journal-error-status",
        type=int,
        default=None,
        help="Answer every journal and subscription call with this 5xx status.",
    )
    group.add_argument(
        "--journal-app-not-installed",
        action="store_true",
        help="The app is not installed in the portal.",
    )
    group.add_argument(
        "--journal-withheld-scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="A scope the app does not hold (repeatable).",
    )
    group.add_argument(
        "--journal-settings",
        default=None,
        metavar="JSON",
        help="JSON object of journal settings (as PUT /_emulator/journal/settings).",
    )


def settings_from_args(args: argparse.Namespace) -> JournalSettings:
    """The journal settings the command line asks for."""
    settings = JournalSettings()
    changes: dict[str, Any] = {}
    if args.journal_settings:
        try:
            changes.update(json.loads(args.journal_settings))
        except json.JSONDecodeError as exc:
            msg = f"--journal-settings is not valid JSON: {exc}"
            raise JournalSettingsError(msg) from None
    flags: dict[str, Any] = {
        "retention_days": args.journal_retention_days,
        "visibility_delay_s": args.journal_visibility_delay,
        "error_status": args.journal_error_status,
    }
    changes.update({name: value for name, value in flags.items() if value is not None})
    for name in ("duplicate_events", "shuffle_events", "merge_deletes"):
        if getattr(args, f"journal_{name}"):
            changes[name] = True
    if args.journal_app_not_installed:
        changes["app_installed"] = False
    if args.journal_withheld_scope:
        changes["withheld_scopes"] = list(args.journal_withheld_scope)
    settings.update(changes)
    return settings
