"""Journal mode: HubSpot's Webhooks Journal tells which records to re-read.

One stream, the *holder* (the first selected object in sync order), keeps the journal offset
in its STATE and reads the journal when its run reaches the `changes` phase. Every event names
records; the holder hands each stream the ids that are its own (`JournalState.pending`, in that
stream's STATE, written in the same STATE message as the new offset), so a run killed anywhere
loses nothing and re-reads at most one journal entry. Each stream then re-reads its pending
ids with batch read (`CRMStream.read_changes`). Duplicated and out-of-order events change
nothing: ids are collected as a set and every record is read as it is now.

Events and what they do (the event fields are read as others saw them on the live API; see
`journal.py`):
- CREATE, UPDATE, RESTORE, DELETE (archive), MERGE (the survivor, the new record and the
  absorbed ids), GDPR_DELETE (privacy deletion; remembered as gone): the ids are re-read.
- A company's UPDATE whose `propertyChanges` include the account ID property, and a company's
  DELETE, RESTORE or MERGE: its contacts are re-linked (the relink phase, as when polling).
- ASSOCIATION_ADDED / ASSOCIATION_REMOVED: the contact side is re-read, with its new link.

Fallbacks, each logged with its reason:
- first journal run: the holder takes the newest offset before the run reads (a full read, or
  the polling window; the first journal run then also searches the few seconds the polling
  window left to the search lag), so nothing between is lost;
- an expired or unknown offset, or a journal error: the newest offset is taken again and every
  stream runs one complete pass (as `reconcile`), then the journal resumes;
- no client id and secret, no install, missing scopes, no portal id: the run polls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.journal import JournalClient, JournalLostError, JournalUnavailableError
from tap_hubspot_gather.properties import format_datetime, parse_datetime
from tap_hubspot_gather.run_state import JournalState, Phase, Run, StreamState
from tap_hubspot_gather.streams import CompaniesStream, CRMStream

if TYPE_CHECKING:
    from tap_hubspot_gather.tap import TapHubspotGather

CHANGE_CAPTURE_CHOICES = ("auto", "journal", "poll")
DEFAULT_CHANGE_CAPTURE = "auto"
# Check the app's subscriptions at most this often (one GET; a missing one is re-created and
# costs one complete pass, since its events were not written meanwhile).
SUBSCRIPTION_CHECK_INTERVAL = dt.timedelta(hours=24)
# "changes that occurred ... over the past 3 days"
# (https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/journal-entries/guide).
JOURNAL_RETENTION = dt.timedelta(days=3)
OBJECT_ACTIONS = ("CREATE", "UPDATE", "DELETE", "MERGE", "RESTORE")
ASSOCIATION_ACTIONS = ("ASSOCIATION_ADDED", "ASSOCIATION_REMOVED")
RELINKING_ACTIONS = frozenset({"DELETE", "RESTORE", "MERGE"})


def open_change_feed(tap: TapHubspotGather) -> ChangeFeed | None:
    """The journal for this run, or None (polling), with the reason logged."""
    config = tap.config
    mode = str(config.get("change_capture") or DEFAULT_CHANGE_CAPTURE)
    if mode == "poll":
        return None
    if not (config.get("client_id") and config.get("client_secret")):
        if mode == "journal":
            tap.logger.warning(
                "change_capture is journal, but client_id and client_secret are not set: the "
                "Webhooks Journal authenticates as the OAuth app. Polling this run."
            )
        else:
            tap.logger.info("Polling for changes (change_capture auto: no OAuth app credentials).")
        return None
    try:
        portal_id = _portal_id(tap)
        client = JournalClient(
            str(tap.client.api_url),
            str(config["client_id"]),
            str(config["client_secret"]),
            portal_id,
            logger=tap.logger,
            max_retries=int(config.get("max_retries", 4)),
            backoff_max_s=float(config.get("backoff_max_seconds") or 30.0),
        )
    except HubSpotError as exc:
        tap.logger.warning("Webhooks Journal unavailable: %s Polling this run.", exc)
        return None
    return ChangeFeed(tap, client)


def remembered_portal_id(tap: TapHubspotGather) -> int | None:
    """The portal id a previous run kept in STATE (any stream's, or the journal holder's
    as older taps kept it), if any."""
    for stream in tap.crm_streams():
        if stream.saved.portal_id:
            return stream.saved.portal_id
        journal = stream.saved.journal
        if journal is not None and journal.portal_id:
            return journal.portal_id
    return None


def _portal_id(tap: TapHubspotGather) -> int:
    """The portal the tap reads (`TapHubspotGather.portal_id`), kept in the holder's STATE."""
    try:
        portal_id = int(tap.portal_id)
    except HubSpotError as exc:
        msg = f"the portal id could not be read ({exc}); set portal_id to the HubSpot account id"
        raise JournalUnavailableError(msg) from None
    holder = next((s for s in tap.crm_streams() if s.selected), None)
    if holder is not None:
        holder.saved.journal_state.portal_id = portal_id
    return portal_id


class ChangeFeed:
    """The journal of one run: who holds the offset, what each stream must re-read."""

    def __init__(self, tap: TapHubspotGather, client: JournalClient) -> None:
        self.tap = tap
        self.client = client
        self.logger = tap.logger
        self.disabled: str | None = None  # why this run polls after all
        self.fresh = False  # the holder took a new offset in this run
        self._prepared = False

    # Which streams -----------------------------------------------------------------------

    def streams(self) -> list[CRMStream]:
        """The selected CRM streams, in sync order."""
        return [s for s in self.tap.crm_streams() if s.selected]

    @property
    def holder(self) -> CRMStream | None:
        """The stream keeping the offset: the first selected one."""
        selected = self.streams()
        return selected[0] if selected else None

    # Planning ----------------------------------------------------------------------------

    def prepare(self, stream: CRMStream, saved: StreamState) -> str | None:
        """Before `stream` plans its run: the holder checks its subscriptions and takes an
        offset when it has none. Returns why this stream must run a complete pass, if so."""
        if stream is self.holder and not self._prepared:
            self._prepared = True
            try:
                self._prepare_holder(saved.journal_state)
            except HubSpotError as exc:
                self.disabled = str(exc)
                self.logger.warning("Webhooks Journal unavailable: %s Polling this run.", exc)
        reason = saved.journal_state.resync  # honoured even when the journal is down now
        if reason:
            self.logger.warning("%s: complete pass (journal: %s)", stream.name, reason)
        return reason

    def _prepare_holder(self, journal: JournalState) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        lost = self._ensure_subscriptions(journal, now)
        if lost is not None and journal.started:
            self._restart(lost)
            return
        if not journal.started and journal.offset is None:
            journal.offset = self.client.latest_offset()
            journal.offset_at = format_datetime(now)
            if journal.resync:
                return  # every stream runs a complete pass from this offset
            self.fresh = True
            self.logger.info(
                "Webhooks Journal: first journal run; newest offset %s taken before this run "
                "reads, later runs read the journal from there.",
                journal.offset or "(journal empty)",
            )
            for other in self.streams():
                if other is not self.holder:
                    other.saved.journal_state.started = False

    def _ensure_subscriptions(self, journal: JournalState, now: dt.datetime) -> str | None:
        """Create the subscriptions this tap needs that the portal lacks (idempotent: the
        existing ones are listed first). Returns why the journal may have missed events."""
        if journal.subscribed_at and now - parse_datetime(journal.subscribed_at) < (
            SUBSCRIPTION_CHECK_INTERVAL
        ):
            return None
        existing = self.client.subscriptions()
        created = []
        for wanted in self.wanted_subscriptions():
            if not any(_covers(have, wanted) for have in existing):
                self.client.subscribe(wanted)
                created.append(f"{wanted['subscriptionType']} {wanted['objectTypeId']}")
        journal.subscribed_at = format_datetime(now)
        if created:
            self.logger.info("Webhooks Journal: subscribed to %s", ", ".join(created))
            return f"subscriptions were missing and were created: {', '.join(created)}"
        return None

    def wanted_subscriptions(self) -> list[dict[str, Any]]:
        """One OBJECT subscription per selected object (all properties: an account ID change
        must show), ASSOCIATION for the objects linking to accounts, privacy deletions where
        the object has them."""
        feeder = self.tap.account_feeder()
        out: list[dict[str, Any]] = []
        for stream in self.streams():
            obj = stream.obj
            out.append(
                {
                    "subscriptionType": "OBJECT",
                    "objectTypeId": obj.object_type_id,
                    "actions": list(OBJECT_ACTIONS),
                    "objectIds": [],
                    "properties": [],
                }
            )
            if obj.links_accounts and feeder is not None:
                out.append(
                    {
                        "subscriptionType": "ASSOCIATION",
                        "objectTypeId": obj.object_type_id,
                        "actions": list(ASSOCIATION_ACTIONS),
                        "objectIds": [],
                        "associatedObjectTypeIds": [feeder.obj.object_type_id],
                    }
                )
            if obj.privacy_deletes:
                out.append(
                    {
                        "subscriptionType": "GDPR_PRIVACY_DELETION",
                        "objectTypeId": obj.object_type_id,
                        "actions": ["GDPR_DELETE"],
                    }
                )
        return out

    def ready(self, stream: CRMStream, saved: StreamState) -> bool:
        """Whether `stream` reads this run from the journal."""
        holder = self.holder
        return (
            self.disabled is None
            and not self.fresh
            and holder is not None
            and holder.saved.journal_state.started
            and saved.bookmark is not None
            and saved.journal_state.started
        )

    def plan(self, stream: CRMStream, saved: StreamState, run: Run) -> None:
        """A journal run's catch-up search, when the stream's last polling window ended
        before the offset was taken (the search lag)."""
        journal = saved.journal_state
        if journal.catch_up_until and saved.bookmark:
            run.window_start = saved.bookmark
            run.catch_up_end = journal.catch_up_until
            run.enter(Phase.LIVE)

    # Reading -----------------------------------------------------------------------------

    def read(self, stream: CRMStream) -> str | None:
        """The holder reads the journal to its newest entry, handing out ids and
        checkpointing after each entry. Returns why the journal is lost (then every stream,
        this one first, runs a complete pass)."""
        if stream is not self.holder or self.disabled is not None:
            return None
        journal = stream.saved.journal_state
        entries = 0
        events = 0
        try:
            self._check_age(journal)
            for entry in self.client.entries(journal.offset):
                self.route(entry.events)
                journal.offset = entry.offset
                journal.offset_at = format_datetime(dt.datetime.now(dt.timezone.utc))
                entries += 1
                events += len(entry.events)
                stream._checkpoint()
        except (JournalLostError, HubSpotError) as exc:
            reason = str(exc)
            self.logger.warning(
                "Webhooks Journal: %s. Every stream runs one complete pass, then the journal "
                "resumes from its newest entry.",
                reason,
            )
            self._restart(reason)
            stream.saved.journal_state.resync = None
            return reason
        self.logger.info(
            "Webhooks Journal: %d entries, %d events read (%d journal requests, %d files)",
            entries,
            events,
            self.client.requests,
            self.client.files.downloads,
        )
        return None

    @staticmethod
    def _check_age(journal: JournalState) -> None:
        """Refuse an offset last advanced longer ago than the journal keeps entries (the
        only way to notice lost entries when the journal was empty at the last read)."""
        if journal.offset_at is None:
            return
        age = dt.datetime.now(dt.timezone.utc) - parse_datetime(journal.offset_at)
        if age > JOURNAL_RETENTION:
            msg = (
                f"the journal was last read {age.days} days ago, longer than HubSpot keeps "
                "entries (three days): its offset expired"
            )
            raise JournalLostError(msg)

    def _restart(self, reason: str) -> None:
        """Take the newest offset now and have every stream run a complete pass."""
        holder = self.holder
        assert holder is not None
        try:
            offset = self.client.latest_offset()
        except HubSpotError as exc:
            self.disabled = f"{reason}; the newest offset could not be read either ({exc})"
            self.logger.warning("Webhooks Journal unavailable: %s Polling this run.", self.disabled)
            offset = None
            holder.saved.journal_state.started = False
        holder.saved.journal_state.offset = offset
        holder.saved.journal_state.offset_at = format_datetime(dt.datetime.now(dt.timezone.utc))
        for stream in self.streams():
            stream.saved.journal_state.resync = reason
            stream.saved.journal_state.pending = []
        holder._checkpoint()

    def route(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Hand each event's ids to the streams they belong to (this portal's only)."""
        by_type = {s.obj.object_type_id: s for s in self.streams()}
        linking = [s for s in self.streams() if s.obj.links_accounts]
        portal = str(self.client.portal_id)
        for event in events:
            if str(event.get("portalId", portal)) != portal:
                continue
            action = str(event.get("action") or "")
            if action in ASSOCIATION_ACTIONS:
                for linker in linking:
                    contact = _association_side(event, linker.obj.object_type_id)
                    if contact is not None:
                        linker.saved.journal_state.add([contact])
                continue
            stream = by_type.get(str(event.get("objectTypeId") or ""))
            if stream is not None and event.get("objectId") is not None:
                self._object_event(stream, action, event)

    def _object_event(self, stream: CRMStream, action: str, event: Mapping[str, Any]) -> None:
        journal = stream.saved.journal_state
        object_id = str(event["objectId"])
        ids = [object_id]
        ids.extend(
            str(event[name])
            for name in ("primaryObjectId", "newObjectId")
            if event.get(name) not in (None, "")
        )
        merged = [str(i) for i in event.get("mergedObjectIds") or []]
        journal.add(ids + merged)
        if action == "MERGE":
            survivors = set(ids)
            journal.merged_away = sorted(
                {*journal.merged_away, *(m for m in merged if m not in survivors)}
            )
        if action == "DELETE" and object_id not in journal.deleted:
            journal.deleted.append(object_id)
        if action == "RESTORE" and object_id in journal.deleted:
            journal.deleted.remove(object_id)  # a shuffled DELETE after it costs one more read
        if action == "GDPR_DELETE":
            journal.gone[object_id] = str(event.get("occurredAt") or "") or format_datetime(
                dt.datetime.now(dt.timezone.utc)
            )
        if isinstance(stream, CompaniesStream) and self._moves_links(action, event):
            for company in ids:
                stream.note_relink(company)

    def _moves_links(self, action: str, event: Mapping[str, Any]) -> bool:
        """Whether a company event may move its contacts' account link."""
        if action in RELINKING_ACTIONS:
            return True
        accounts = self.tap.accounts
        if action != "UPDATE" or accounts.uses_company_id:
            return False
        changes = event.get("propertyChanges")
        if not isinstance(changes, Mapping):
            return True  # not said which properties changed: assume the account ID did
        return accounts.account_id_property in changes

    # Finishing ---------------------------------------------------------------------------

    def finish(self, stream: CRMStream, saved: StreamState, run: Run) -> None:
        """After a run: a stream that read everything up to the offset follows the journal
        from now on; a complete pass clears the reason it ran."""
        journal = saved.journal_state
        if run.complete:
            journal.resync = None
        if self.disabled is not None:
            return
        journal.catch_up_until = None
        if not journal.started:
            journal.started = True
            if not run.lists_everything:
                # Its window ended `search_lag_seconds` before the run; the offset was taken
                # at the start of the run: the first journal run searches that gap.
                journal.catch_up_until = format_datetime(dt.datetime.now(dt.timezone.utc))


def _association_side(event: Mapping[str, Any], contact_type: str) -> str | None:
    """The id on the `contact_type` side of an association event, in either naming style
    (`objectId`/`associatedObjectId`, or `fromObjectId`/`toObjectId`)."""
    pairs = (
        ("objectTypeId", "objectId"),
        ("associatedObjectTypeId", "associatedObjectId"),
        ("fromObjectTypeId", "fromObjectId"),
        ("toObjectTypeId", "toObjectId"),
    )
    for type_field, id_field in pairs:
        if str(event.get(type_field) or "") == contact_type and event.get(id_field) is not None:
            return str(event[id_field])
    return None


def _covers(have: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether an existing subscription delivers everything `wanted` asks for."""
    if have.get("subscriptionType") != wanted["subscriptionType"]:
        return False
    if str(have.get("objectTypeId")) != wanted["objectTypeId"]:
        return False
    if not set(wanted["actions"]) <= set(have.get("actions") or []):
        return False
    if have.get("objectIds") or have.get("properties"):
        return False  # narrowed to some records or properties
    associated = wanted.get("associatedObjectTypeIds")
    have_associated = have.get("associatedObjectTypeIds")
    return not (associated and have_associated and not set(associated) <= set(have_associated))
