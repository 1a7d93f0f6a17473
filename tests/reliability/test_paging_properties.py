"""Property test: the tap's windowing and keyset paging never lose nor needlessly repeat a
record, whatever changes HubSpot sees during a sync.

The real tap runs (in-process) against the HubSpot emulator over HTTP. Hypothesis chooses a
schedule: after the tap's n-th HTTP request, change records in the portal (update, create,
archive, or give several records one shared timestamp). A run, then the next run from its
STATE, must together leave the consumer with the current version of every record:

- within one run a record version is emitted at most once;
- after the two runs, the last emitted version of every live contact is HubSpot's current one,
  and every contact archived during the sync was emitted as archived;
- the run after never re-emits a record that did not change since the first one read it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_hubspot_gather.transport import Transport
from tests.tap.harness import TapRun, discover, run_tap, select_only

CONTACTS = 450  # 5 list pages, 3 search pages
ACTIONS = ("update", "create", "archive", "tie")
STEP = st.tuples(
    st.integers(min_value=0, max_value=6),  # after this many tap requests
    st.sampled_from(ACTIONS),
    st.integers(min_value=0, max_value=10**6),  # which record
)


class MutatingPortal:
    """Applies a schedule of changes to the emulator between the tap's HTTP requests."""

    def __init__(self, hubspot: Any, schedule: list[tuple[int, str, int]]) -> None:
        self.hubspot = hubspot
        self.schedule = sorted(schedule, key=lambda step: step[0])
        self.requests = 0
        self.changed: set[str] = set()
        self.archived: set[str] = set()
        self._lock = threading.Lock()
        self._created = 0

    def wrap(self, send: Callable[..., Any]) -> Callable[..., Any]:
        """`Transport.send` that runs due changes after each answer."""

        def send_then_mutate(transport: Transport, *args: Any, **kwargs: Any) -> Any:
            answer = send(transport, *args, **kwargs)
            with self._lock:
                self.requests += 1
                while self.schedule and self.schedule[0][0] < self.requests:
                    _, action, pick = self.schedule.pop(0)
                    self.apply(action, pick)
            return answer

        return send_then_mutate

    def flush(self) -> None:
        """Apply the changes scheduled past the run's last request (between the runs)."""
        with self._lock:
            for _, action, pick in self.schedule:
                self.apply(action, pick)
            self.schedule = []

    def apply(self, action: str, pick: int) -> None:
        live = [c["id"] for c in self.hubspot.dump("contacts")]
        target = live[pick % len(live)]
        if action == "update":
            self.hubspot.update("contacts", target, {"city": f"changed-{pick}"})
            self.changed.add(target)
        elif action == "create":
            self._created += 1
            made = self.hubspot.create(
                "contacts", {"firstname": "New", "city": f"new-{self._created}"}
            )
            self.changed.add(str(made["id"]))
        elif action == "archive":
            self.hubspot.archive("contacts", target)
            self.changed.add(target)
            self.archived.add(target)
        else:  # several records share one new timestamp (bulk imports do this)
            ties = [live[(pick + k * 7) % len(live)] for k in range(5)]
            self.hubspot.touch("contacts", ids=ties, timestamp=int(time.time() * 1000))
            self.changed.update(ties)


def ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def versions(run: TapRun) -> list[tuple[str, int, bool]]:
    return [
        (str(r["id"]), ms(r["updatedAt"]), bool(r["archived"])) for r in run.records["contacts"]
    ]


def first_sync_then_touch_all(
    portal: Any, *, seed: int
) -> tuple[dict[str, Any], dict[str, Any], TapRun]:
    """A fresh seeded portal, a first full sync, then every contact changed once more with one
    shared timestamp (so the next, incremental run searches them all)."""
    portal.reset()
    portal.unlimit()
    portal.seed(companies=5, contacts=CONTACTS, seed=seed)
    config = {
        "api_url": portal.url,
        "access_token": portal.token,
        "account_id_property": "companyId",
        "user_id_property": "vid",
        "search_lag_seconds": 0,
        "include_archived": True,
        # The properties are about keyset paging of one search window: no lookback re-reads,
        # no contact sweep and no reconciliation (those re-read unchanged records by design).
        "lookback_seconds": 0,
        "relink_sweep": False,
        "reconcile": "never",
        "searches_per_second": 100,
        "max_retries": 2,
    }
    catalog = select_only(discover(config), {"contacts": {"city", "firstname"}})
    first = run_tap(config, catalog=catalog)
    time.sleep(0.005)
    portal.touch("contacts", timestamp=int(time.time() * 1000))
    time.sleep(0.005)
    return config, catalog, first


@pytest.fixture(scope="module")
def portal(hubspot_emulator_module: Any) -> Any:
    hubspot_emulator_module.unlimit()
    return hubspot_emulator_module


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=st.lists(STEP, min_size=1, max_size=8))
def test_no_interleaving_of_changes_loses_or_repeats_a_record(
    portal: Any, monkeypatch: pytest.MonkeyPatch, schedule: list[tuple[int, str, int]]
) -> None:
    config, catalog, first = first_sync_then_touch_all(portal, seed=3)

    mutations = MutatingPortal(portal, schedule)
    monkeypatch.setattr(Transport, "send", mutations.wrap(Transport.send))
    during = run_tap(config, catalog=catalog, state=first.last_state)
    monkeypatch.undo()
    assert mutations.requests >= 3, "the run made too few requests to interleave with"
    mutations.flush()
    after = run_tap(config, catalog=catalog, state=during.last_state)

    for run in (first, during, after):
        repeated = [v for v, n in Counter(versions(run)).items() if n > 1]
        assert not repeated, f"versions emitted twice in one run: {repeated}"
    # Records that did not change during the run are all in its window; changed ones may
    # have left it (modified after its end) and then belong to the next run.
    unchanged = {str(c["id"]) for c in portal.dump("contacts")} - mutations.changed
    missing = unchanged - {vid for vid, _, _ in versions(during)}
    assert not missing, f"the window lost unchanged records: {sorted(missing)[:10]}"
    last: dict[str, tuple[int, bool]] = {}
    for vid, stamp, archived in versions(first) + versions(during) + versions(after):
        last[vid] = (stamp, archived)
    for contact in portal.dump("contacts"):
        assert last.get(str(contact["id"])) == (ms(contact["updatedAt"]), False), contact["id"]
    for vid in mutations.archived:
        assert last.get(vid, (0, False))[1], f"archived {vid} never emitted as archived"
    needless = {vid for vid, _, _ in versions(after)} - mutations.changed
    assert not needless, f"re-emitted without a change: {sorted(needless)[:10]}"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    schedule=st.lists(STEP, min_size=1, max_size=6),
    crash_at=st.integers(min_value=0, max_value=50),
)
def test_resuming_from_any_checkpoint_of_a_changing_sync_loses_nothing(
    portal: Any,
    monkeypatch: pytest.MonkeyPatch,
    schedule: list[tuple[int, str, int]],
    crash_at: int,
) -> None:
    """A run killed after any of its STATE messages, resumed from it: nothing is lost."""
    config, catalog, first = first_sync_then_touch_all(portal, seed=4)

    mutations = MutatingPortal(portal, schedule)
    monkeypatch.setattr(Transport, "send", mutations.wrap(Transport.send))
    crashed = run_tap(config, catalog=catalog, state=first.last_state)
    monkeypatch.undo()
    mutations.flush()
    checkpoint = crashed.states[crash_at % len(crashed.states)]
    # What a killed run delivered: its records up to that checkpoint.
    delivered = TapRun(_lines_until_state(crashed, crash_at % len(crashed.states)))
    resumed = run_tap(config, catalog=catalog, state=checkpoint)
    final = run_tap(config, catalog=catalog, state=resumed.last_state)

    last: dict[str, tuple[int, bool]] = {}
    for run in (first, delivered, resumed, final):
        for vid, stamp, archived in versions(run):
            last[vid] = (stamp, archived)
    for contact in portal.dump("contacts"):
        assert last.get(str(contact["id"])) == (ms(contact["updatedAt"]), False), contact["id"]
    for vid in mutations.archived:
        assert last.get(vid, (0, False))[1], f"archived {vid} never emitted as archived"


def _lines_until_state(run: TapRun, index: int) -> list[dict[str, Any]]:
    """The run's messages up to and including its `index`-th STATE."""
    lines: list[dict[str, Any]] = []
    seen = -1
    for line in run.lines:
        lines.append(line)
        if line["type"] == "STATE":
            seen += 1
            if seen == index:
                break
    return lines
