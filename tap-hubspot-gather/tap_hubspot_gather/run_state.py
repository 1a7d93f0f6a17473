"""A stream's STATE as typed objects: what a newcomer reads instead of a two-level dict.

One `StreamState` per stream lives in the Singer STATE (``bookmarks.<stream>``) and is written
after every page, so a killed run resumes where it stopped. While a run is under way it holds a
`Run`: the strategy chosen when the run started and the `Phase` it has reached. The JSON keeps
the key names the tap always wrote, so a STATE written before this module existed is read as is
(`StreamState.from_dict` is the migration; keys it does not know, such as singer-sdk's own, are
kept untouched)::

    {"bookmark": "<end of the last completed window>",
     "verified_at": "<end of the last complete or archived pass>",
     "listed_at": "<window end of the last run that listed every record>",
     "links_at": "<contacts: every account link read after this moment>",
     "relink": ["<company id>", ...], "relink_all": false,   # companies -> contacts hand-off
     "relinked": {"<company id>": "<account ID change already handed over>"},
     "journal": {"offset": "<uuid>", "pending": ["<id>", ...], "gone": {...}, "resync": "..."},
     "portal_id": 123,                                        # the portal, read once
     "run": {"strategy": "list"|"search"|"journal", "phase": "live"|"changes"|"relink"|"archived",
             "window_start": ..., "window_end": ..., "cursor": ..., "since": ..., "version": ...,
             "relink_ids": [...], "relink_at": 0, "relink_list": false}}
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Strategy(str, Enum):
    """How the run reads its records."""

    LIST = "list"  # every record (or those since a start_date), 100 per request
    SEARCH = "search"  # the modified-date window, keyset search, 200 per request
    JOURNAL = "journal"  # the ids HubSpot's Webhooks Journal named, batch read 100 per request


class Phase(str, Enum):
    """The steps of a run, in order; a run resumes at the phase its STATE names."""

    LIVE = "live"  # the window, or every record (list/search strategies)
    CHANGES = "changes"  # the records the journal named (journal strategy)
    RELINK = "relink"  # contacts of companies whose account link may have moved
    ARCHIVED = "archived"  # records archived in the window (include_archived)
    DONE = "done"  # the bookmark moves; nothing is read

    @property
    def next(self) -> Phase:
        """The phase after this one."""
        order = list(Phase)
        return order[min(order.index(self) + 1, len(order) - 1)]


@dataclass
class Run:
    """One run of a stream, from its plan to its last page."""

    strategy: Strategy
    phase: Phase
    window_end: str
    window_start: str | None = None
    cursor: str | None = None  # where the current phase resumes (list `after`, last id)
    since: str | None = None  # a first run's start_date when listing beats searching
    version: int | None = None  # ACTIVATE_VERSION of a complete pass
    relink_ids: list[str] = field(default_factory=list)  # companies whose contacts re-link
    relink_at: int = 0  # how many of `relink_ids` are done
    relink_list: bool = False  # too many companies: list every contact instead
    catch_up_end: str | None = None  # journal: also search [window_start, catch_up_end]

    @property
    def complete(self) -> bool:
        """Whether this run reads every live record (and ends with ACTIVATE_VERSION)."""
        return self.version is not None

    @property
    def finished(self) -> bool:
        """Whether every phase is done (only the bookmark is left to move)."""
        return self.phase is Phase.DONE

    @property
    def lists_everything(self) -> bool:
        """Whether the live phase lists every live record (a full pass or a sweep)."""
        return self.strategy is Strategy.LIST and self.since is None

    def enter(self, phase: Phase) -> None:
        """Move to `phase`, from its beginning."""
        self.phase = phase
        self.cursor = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Run:
        """A run as STATE holds it (any version of the tap)."""
        version = raw.get("version")
        return cls(
            strategy=Strategy(str(raw.get("strategy") or Strategy.LIST.value)),
            phase=Phase(str(raw.get("phase") or Phase.LIVE.value)),
            window_end=str(raw["window_end"]),
            window_start=_text(raw.get("window_start")),
            cursor=_text(raw.get("cursor")),
            since=_text(raw.get("since")),
            version=version if isinstance(version, int) else None,
            relink_ids=[str(i) for i in raw.get("relink_ids") or []],
            relink_at=int(raw.get("relink_at") or 0),
            relink_list=bool(raw.get("relink_list")),
            catch_up_end=_text(raw.get("catch_up_end")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The run as STATE holds it (empty optional parts left out)."""
        out: dict[str, Any] = {
            "strategy": self.strategy.value,
            "phase": self.phase.value,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "cursor": self.cursor,
            "since": self.since,
            "version": self.version,
        }
        if self.relink_ids:
            out["relink_ids"] = list(self.relink_ids)
            out["relink_at"] = self.relink_at
        if self.relink_list:
            out["relink_list"] = True
        if self.catch_up_end:
            out["catch_up_end"] = self.catch_up_end
        return out


@dataclass
class JournalState:
    """Where this stream stands in HubSpot's Webhooks Journal.

    `offset` is kept by the stream that reads the journal (the first selected object); the
    ids it found for every stream wait in that stream's `pending` until its run reads them, so
    a run killed between the two loses nothing. `gone` maps ids the journal reported deleted
    for good (privacy deletion, purge) or merged away to the moment it said so.
    """

    offset: str | None = None
    pending: list[str] = field(default_factory=list)
    gone: dict[str, str] = field(default_factory=dict)
    merged_away: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # pending ids the journal said were deleted
    resync: str | None = None  # why the next run must be a complete pass (journal lost)
    started: bool = False  # this stream read everything up to the offset: the journal follows
    # The holder took its offset then, while this stream searched a window ending earlier
    # (search lag): the first journal run also searches up to it.
    catch_up_until: str | None = None
    subscribed_at: str | None = None  # the holder last checked its subscriptions then
    portal_id: int | None = None  # the holder's portal (read once from account details)
    offset_at: str | None = None  # when the offset was taken or last moved

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> JournalState:
        """The journal part of STATE."""
        return cls(
            offset=_text(raw.get("offset")),
            pending=[str(i) for i in raw.get("pending") or []],
            gone={str(k): str(v) for k, v in (raw.get("gone") or {}).items()},
            merged_away=[str(i) for i in raw.get("merged_away") or []],
            deleted=[str(i) for i in raw.get("deleted") or []],
            resync=_text(raw.get("resync")),
            started=bool(raw.get("started")),
            catch_up_until=_text(raw.get("catch_up_until")),
            subscribed_at=_text(raw.get("subscribed_at")),
            portal_id=int(raw["portal_id"]) if raw.get("portal_id") else None,
            offset_at=_text(raw.get("offset_at")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The journal part as STATE holds it."""
        out: dict[str, Any] = {"offset": self.offset, "started": self.started}
        if self.pending:
            out["pending"] = list(self.pending)
        if self.gone:
            out["gone"] = dict(self.gone)
        if self.merged_away:
            out["merged_away"] = list(self.merged_away)
        if self.deleted:
            out["deleted"] = list(self.deleted)
        if self.resync:
            out["resync"] = self.resync
        if self.catch_up_until:
            out["catch_up_until"] = self.catch_up_until
        if self.subscribed_at:
            out["subscribed_at"] = self.subscribed_at
        if self.portal_id:
            out["portal_id"] = self.portal_id
        if self.offset_at:
            out["offset_at"] = self.offset_at
        return out

    def add(self, ids: list[str]) -> None:
        """Note ids to re-read (kept once each, in arrival order)."""
        seen = set(self.pending)
        for i in ids:
            if i not in seen:
                seen.add(i)
                self.pending.append(i)


# The keys this module owns; anything else in a stream's STATE (singer-sdk's) is kept as is.
OWNED_KEYS = frozenset(
    {
        "bookmark",
        "verified_at",
        "listed_at",
        "links_at",
        "relink",
        "relink_all",
        "relinked",
        "journal",
        "run",
        "portal_id",
    }
)


@dataclass
class StreamState:
    """Everything a stream remembers between runs, typed."""

    bookmark: str | None = None
    verified_at: str | None = None  # the last complete or archived pass ended here
    listed_at: str | None = None  # window end of the last run listing every record (sweeps)
    # Contacts: the last full listing read every account link after this moment (an account
    # ID changed before it is in every contact emitted since; polling, `account_history`).
    links_at: str | None = None
    relink: list[str] = field(default_factory=list)  # companies: noted for contacts
    relink_all: bool = False  # companies: too many noted, contacts re-list everything
    # Companies: account-ID changes (company id -> the change's moment) already handed to the
    # contacts since `links_at`, so a company modified again is not handed over twice.
    relinked: dict[str, str] = field(default_factory=dict)
    journal: JournalState | None = None
    run: Run | None = None
    portal_id: int | None = None  # the portal read (kept so later runs need not read it)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StreamState:
        """Read a stream's STATE; the pre-typed shape (same keys, `run` as a dict) included.

        A `run` that cannot be read (written by a much older tap) is dropped: the run is
        planned again from the bookmark, which only ever moves after a completed run.
        """
        run = raw.get("run")
        parsed_run: Run | None = None
        if isinstance(run, Mapping) and run.get("window_end"):
            try:
                parsed_run = Run.from_dict(run)
            except (ValueError, KeyError, TypeError):
                parsed_run = None
        journal = raw.get("journal")
        return cls(
            bookmark=_text(raw.get("bookmark")),
            verified_at=_text(raw.get("verified_at")),
            listed_at=_text(raw.get("listed_at")),
            links_at=_text(raw.get("links_at")),
            relink=[str(i) for i in raw.get("relink") or []],
            relink_all=bool(raw.get("relink_all")),
            relinked={str(k): str(v) for k, v in (raw.get("relinked") or {}).items()},
            journal=JournalState.from_dict(journal) if isinstance(journal, Mapping) else None,
            run=parsed_run,
            portal_id=_portal(raw.get("portal_id")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The typed state as STATE holds it (unset parts left out)."""
        out: dict[str, Any] = {}
        if self.bookmark is not None:
            out["bookmark"] = self.bookmark
        if self.verified_at is not None:
            out["verified_at"] = self.verified_at
        if self.listed_at is not None:
            out["listed_at"] = self.listed_at
        if self.links_at is not None:
            out["links_at"] = self.links_at
        if self.relink:
            out["relink"] = list(self.relink)
        if self.relink_all:
            out["relink_all"] = True
        if self.relinked:
            out["relinked"] = dict(self.relinked)
        if self.journal is not None:
            out["journal"] = self.journal.to_dict()
        if self.run is not None:
            out["run"] = self.run.to_dict()
        if self.portal_id:
            out["portal_id"] = self.portal_id
        return out

    def write_into(self, target: MutableMapping[str, Any]) -> None:
        """Replace the owned keys of singer-sdk's state dict with this state's."""
        for key in OWNED_KEYS:
            target.pop(key, None)
        target.update(self.to_dict())

    @property
    def journal_state(self) -> JournalState:
        """The journal part, created on first use."""
        if self.journal is None:
            self.journal = JournalState()
        return self.journal


def _portal(value: Any) -> int | None:
    """A remembered portal id (a positive integer), else None."""
    try:
        portal = int(value)
    except (TypeError, ValueError):
        return None
    return portal if portal > 0 and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
