"""Everything one emulator instance holds: workspaces, keys, switches, faults and counters.

A workspace is one set of records and events (one Gather team). Several keys may share a
workspace; each key belongs to exactly one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.common.faults import FaultPlan
from emulators.common.stats import RequestStats
from emulators.gather.config import EmulatorConfig
from emulators.gather.store import Store
from emulators.gather.throttle import TokenBucket

ADMIN_PREFIX = "/_emulator"
# The workspace of the keys given without a workspace name (``--api-key``).
DEFAULT_WORKSPACE = "default"
WRITE_OUTCOMES = ("creates", "updates", "deletes", "delete_misses", "rejected")
EVENT_OUTCOMES = ("accepted", "rejected")


class WriteCounts:
    """Creates, updates, deletes and rejections per model, plus events, since the last reset."""

    def __init__(self) -> None:
        self.records: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.events: Counter[str] = Counter()

    def count(self, model: str, outcome: str) -> None:
        """Count one record write outcome (one of `WRITE_OUTCOMES`)."""
        self.records[model][outcome] += 1

    def reset(self) -> None:
        """Forget every count."""
        self.records.clear()
        self.events.clear()

    def to_json(self) -> dict[str, Any]:
        """``{"records": {model: {outcome: n}}, "events": {outcome: n}}``, zeros included."""
        return {
            "records": {
                model: {outcome: counts[outcome] for outcome in WRITE_OUTCOMES}
                for model, counts in sorted(self.records.items())
            },
            "events": {outcome: self.events[outcome] for outcome in EVENT_OUTCOMES},
        }


@dataclass
class Workspace:
    """One workspace: its records and events, and its write counts."""

    name: str
    store: Store
    counts: WriteCounts = field(default_factory=WriteCounts)


@dataclass
class GatherState:
    """The mutable state of one app; only touched from its event-loop thread."""

    workspaces: dict[str, Workspace]
    key_workspaces: dict[str, str]
    initial_config: EmulatorConfig
    max_body_bytes: int
    config: EmulatorConfig = field(init=False)
    plan: FaultPlan = field(default_factory=FaultPlan)
    stats: RequestStats = field(default_factory=RequestStats)
    limiter: TokenBucket | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.set_config(self.initial_config)

    @property
    def api_keys(self) -> frozenset[str]:
        """Every accepted key."""
        return frozenset(self.key_workspaces)

    def totals(self) -> WriteCounts:
        """Write counts summed over all workspaces."""
        total = WriteCounts()
        for workspace in self.workspaces.values():
            for model, counts in workspace.counts.records.items():
                total.records[model].update(counts)
            total.events.update(workspace.counts.events)
        return total

    def set_config(self, config: EmulatorConfig) -> None:
        """Install a config; a changed rate limit starts a full bucket."""
        old = getattr(self, "config", None)
        self.config = config
        same_limit = old is not None and (old.rate_limit_per_s, old.rate_limit_burst) == (
            config.rate_limit_per_s,
            config.rate_limit_burst,
        )
        if same_limit and self.limiter is not None:
            return
        self.limiter = (
            None
            if config.rate_limit_per_s is None
            else TokenBucket(config.rate_limit_per_s, config.rate_limit_burst)
        )

    def reset(self) -> None:
        """Back to a fresh start: no data, no counts, no faults, the start-up config."""
        for workspace in self.workspaces.values():
            workspace.store.reset()
            workspace.counts.reset()
        self.stats.reset()
        self.plan.clear()
        self.limiter = None
        self.set_config(self.initial_config)


STATE: web.AppKey[GatherState] = web.AppKey("gather_state", GatherState)
# The authenticated key's workspace, set on the request by the auth middleware.
WORKSPACE: web.RequestKey[Workspace] = web.RequestKey("gather_workspace", Workspace)
