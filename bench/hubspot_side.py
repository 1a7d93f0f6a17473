"""Scenarios 1-4: extraction from the HubSpot emulator by our tap, a bare client and the peer.

1. extraction ceiling (tap vs a bare client, no limits)
2. against the peer: full sync, incremental of 1,000 changes, 12,000 changes sharing one
   modified timestamp
3. under HubSpot's real limits (190 requests per 10 s, 5 searches per second)
4. incremental cost: requests and time against the number of changed contacts
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from bench import peer
from bench.common import (
    BIN,
    HUBSPOT_TOKEN,
    ProcResult,
    admin,
    bar,
    hubspot_emulator,
    quiet_env,
    ratio,
    route_counts,
    run_process,
    sdk_record_counts,
    sdk_sync_seconds,
    status_counts,
)
from tap_hubspot_gather.versions import paths_for

# The HubSpot paths the tap calls by default (its `api_version`).
PATHS = paths_for(None)

LIST_LIMIT = 100  # list page maximum: https://developers.hubspot.com/docs/api/crm/contacts
SEARCH_LIMIT = 200  # search page maximum: https://developers.hubspot.com/docs/api/crm/search
# HubSpot's limits (Professional tier): 190 requests per rolling 10 s, 5 searches per s.
BURST_LIMIT = 190
BURST_WINDOW_S = 10.0
SEARCHES_PER_SECOND = 5
# Search and association reads of both path families (our tap: date-versioned; the peer: v3/v4),
# as the emulator's stats name them. Association reads are exempt from the burst window.
SEARCH_ROUTES = frozenset(
    {
        "POST /crm/objects/{version}/{object_type}/search",
        "POST /crm/v3/objects/{object_type}/search",
    }
)
ASSOCIATION_ROUTE_PREFIXES = ("POST /crm/v4/", "POST /crm/associations/")
TOUCH_BATCH = 50  # ids per touch call, so changes carry distinct modified timestamps
A_HANDFUL_OF_429S = 5
SMALL = 1000  # below this many contacts (smoke runs) no waiting for rate windows to roll
TAP = "tap-hubspot-gather"
PEER = "meltano-tap-hubspot"


@dataclass
class Sizes:
    """Record counts of the HubSpot scenarios."""

    contacts: int
    companies: int
    limited_contacts: int  # scenario 3
    limited_companies: int
    limited_changes: int  # scenario 3's incremental (search) sync
    changes: tuple[int, ...]  # scenario 4 (the first is the 1,000 of scenario 2)
    ties: int  # scenario 2's changes sharing one timestamp
    peer_tie_timeout_s: float
    peer_limited_timeout_s: float


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


# Bare client ---------------------------------------------------------------------------


def bare_list(url: str, object_type: str, properties: list[str]) -> tuple[int, list[str]]:
    """Page through every record with one keep-alive session, decode and discard the pages."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {HUBSPOT_TOKEN}"
    params: dict[str, Any] = {"limit": LIST_LIMIT, "properties": ",".join(properties)}
    ids: list[str] = []
    while True:
        response = session.get(f"{url}{PATHS.objects(object_type)}", params=params, timeout=60)
        response.raise_for_status()
        data = response.json()
        ids.extend(r["id"] for r in data["results"])
        following = data.get("paging", {}).get("next")
        if not following:
            session.close()
            return len(ids), ids
        params["after"] = following["after"]


def property_names(url: str, object_type: str) -> list[str]:
    """Every property the emulator defines for the object type (what both taps request)."""
    response = requests.get(
        f"{url}{PATHS.properties(object_type)}",
        headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"},
        timeout=60,
    )
    response.raise_for_status()
    return [p["name"] for p in response.json()["results"]]


# Running the taps ---------------------------------------------------------------------------


def discover_catalog(url: str, workdir: Path, label: str, settings: dict[str, Any]) -> Path:
    """Our tap's catalog, discovered once with `settings` (as Meltano discovers once and
    passes the catalog to every run); its file."""
    config = workdir / f"{label}.discover.json"
    config.write_text(json.dumps({"access_token": HUBSPOT_TOKEN, "api_url": url, **settings}))
    path = workdir / f"{label}.catalog.json"
    with path.open("wb") as out, (workdir / f"{label}.discover.log").open("wb") as err:
        result = run_process(
            [str(BIN / TAP), "--config", str(config), "--discover"],
            env=quiet_env(),
            stdout=out,
            stderr=err,
            cwd=workdir,
        )
    if result.returncode:
        msg = f"discovery failed (exit {result.returncode}): see {label}.discover.log"
        raise RuntimeError(msg)
    return path


class _RecordCounter(threading.Thread):
    """Reads Singer messages from a pipe: records per stream and distinct ids."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.records: dict[str, int] = {}
        self.ids: dict[str, set[str]] = {}

    def run(self) -> None:
        for line in self.stream:
            if b'"RECORD"' not in line:
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            name = str(message.get("stream"))
            self.records[name] = self.records.get(name, 0) + 1
            record_id = (message.get("record") or {}).get("id")
            self.ids.setdefault(name, set()).add(str(record_id))


def run_tap(
    kind: str,
    url: str,
    workdir: Path,
    label: str,
    *,
    start_date: str | None = None,
    count_output: bool = False,
    timeout_s: float | None = None,
    catalog: Path | None = None,
) -> dict[str, Any]:
    """Run our tap or the peer once against `url` (each with its `catalog`, ours as Meltano
    passes the one it discovered); returns time, CPU, memory, records."""
    config = workdir / f"{label}.config.json"
    log = workdir / f"{label}.log"
    settings: dict[str, Any] = {"access_token": HUBSPOT_TOKEN}
    if kind == TAP:
        settings.update(api_url=url, search_lag_seconds=0)
        command = [str(BIN / TAP), "--config", str(config)]
        if catalog is not None:
            command += ["--catalog", str(catalog)]  # as Meltano runs it
        env = quiet_env()
    else:
        assert catalog is not None
        command = peer.command(config, catalog)
        env = quiet_env(PEER_HUBSPOT_URL=url)
    if start_date is not None:
        settings["start_date"] = start_date
    config.write_text(json.dumps(settings))
    admin(url, "POST", "/stats/reset")
    counter: _RecordCounter | None = None
    with log.open("wb") as err:
        if count_output:
            read_fd, write_fd = os.pipe()
            with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
                counter = _RecordCounter(reader)
                counter.start()
                result = run_process(
                    command, env=env, stdout=writer, stderr=err, cwd=workdir, timeout_s=timeout_s
                )
                writer.close()
                counter.join(timeout=30)
        else:
            result = run_process(
                command,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=workdir,
                timeout_s=timeout_s,
            )
    text = log.read_text(errors="replace")
    records = counter.records if counter else sdk_record_counts(text)
    figures = _tap_figures(result, records, url, text)
    figures.update(contender=kind, run=label)
    if counter is not None:
        figures["distinct_ids"] = {k: len(v) for k, v in counter.ids.items()}
    return figures


def _tap_figures(result: ProcResult, records: dict[str, int], url: str, log: str) -> dict[str, Any]:
    total = sum(records.values())
    statuses = status_counts(url)
    failed = sum(n for s, n in statuses.items() if not s.startswith("2") and s != "429")
    figures: dict[str, Any] = {
        "exit_code": result.returncode,
        "timed_out": result.timed_out,
        "seconds": round(result.seconds, 3),
        "records": records,
        "records_total": total,
        "records_per_s": round(total / result.seconds, 1) if result.seconds else None,
        # Without process start-up and discovery: the streams' own sync time (SDK timers).
        "sync_seconds": sdk_sync_seconds(log),
        "cpu_s": round(result.cpu_s, 3),
        "cpu_us_per_record": round(result.cpu_s / total * 1e6, 1) if total else None,
        "peak_rss_mib": round(result.peak_rss_mib, 1),
        "requests": route_counts(url),
        "requests_total": sum(route_counts(url).values()),
        "statuses": statuses,
        "responses_429": statuses.get("429", 0),
        "failed_responses": failed,
    }
    if result.returncode not in (0, None) and not result.timed_out:
        figures["error_tail"] = [
            line[:300] for line in log.splitlines()[-5:] if "token" not in line.lower()
        ]
    return figures


# Scenarios ---------------------------------------------------------------------------------


def _touch(url: str, ids: list[str], *, one_timestamp: str | None = None) -> None:
    """Change these contacts in HubSpot (bumps their modified date)."""
    if one_timestamp is not None:
        admin(url, "POST", "/objects/contacts/touch", {"ids": ids, "timestamp": one_timestamp})
        return
    for i in range(0, len(ids), TOUCH_BATCH):
        admin(url, "POST", "/objects/contacts/touch", {"ids": ids[i : i + TOUCH_BATCH]})
        time.sleep(0.002)  # distinct timestamps per batch


def _spread(ids: list[str], count: int, offset: int) -> list[str]:
    """`count` ids spread evenly over the list (shifted by `offset` so runs differ)."""
    step = max(len(ids) // max(count, 1), 1)
    return [ids[(offset + i * step) % len(ids)] for i in range(min(count, len(ids)))]


def run_unlimited(sizes: Sizes, workdir: Path, with_peer: bool) -> dict[str, Any]:
    """Scenarios 1, 2 and 4 on one emulator seeded with the full data set, no rate limits."""
    out: dict[str, Any] = {}
    with hubspot_emulator(sizes.contacts, sizes.companies, workdir) as (url, startup):
        out["emulator_startup_s"] = round(startup, 1)
        catalog = peer.write_catalog(url, workdir / "peer-catalog.json") if with_peer else None
        ours = discover_catalog(url, workdir, "unlimited", {})
        # 1. Bare client vs tap -----------------------------------------------------------
        props = {t: property_names(url, t) for t in ("companies", "contacts")}
        admin(url, "POST", "/stats/reset")
        started = time.perf_counter()
        n_companies, _ = bare_list(url, "companies", props["companies"])
        n_contacts, contact_ids = bare_list(url, "contacts", props["contacts"])
        bare_s = time.perf_counter() - started
        bare = {
            "contender": "bare client",
            "seconds": round(bare_s, 3),
            "records_total": n_companies + n_contacts,
            "records_per_s": round((n_companies + n_contacts) / bare_s, 1),
            "requests_total": sum(route_counts(url).values()),
            "properties": {k: len(v) for k, v in props.items()},
        }
        tap_full = run_tap(TAP, url, workdir, "s1-tap-full", catalog=ours)
        out["s1"] = {"bare": bare, "tap": tap_full}
        # 2. The peer's full sync -----------------------------------------------------------
        peer_full = (
            run_tap(PEER, url, workdir, "s2-peer-full", catalog=catalog) if with_peer else None
        )
        out["s2_full"] = {"tap": tap_full, "peer": peer_full, "bare": bare}
        # 2 + 4. Incremental after changes --------------------------------------------------
        runs = []
        for n, changes in enumerate(sizes.changes):
            since = _now_iso()
            time.sleep(0.01)
            _touch(url, _spread(contact_ids, changes, offset=n), one_timestamp=None)
            time.sleep(0.01)
            tap_run = run_tap(
                TAP, url, workdir, f"s4-tap-incr-{changes}", start_date=since, catalog=ours
            )
            tap_run["changed"] = changes
            runs.append(tap_run)
            if n == 0:
                peer_run = (
                    run_tap(PEER, url, workdir, "s2-peer-incr", start_date=since, catalog=catalog)
                    if with_peer
                    else None
                )
                if peer_run:
                    peer_run["changed"] = changes
                out["s2_incremental"] = {"tap": tap_run, "peer": peer_run, "changed": changes}
        out["s4"] = {"runs": runs, "contacts": sizes.contacts}
        # 2. Ties: many changes sharing one modified timestamp ------------------------------
        since = _now_iso()
        time.sleep(0.01)
        stamp = _now_iso()
        tied = _spread(contact_ids, sizes.ties, offset=7)
        _touch(url, tied, one_timestamp=stamp)
        tap_ties = run_tap(
            TAP,
            url,
            workdir,
            "s2-tap-ties",
            start_date=since,
            count_output=True,
            timeout_s=600,
            catalog=ours,
        )
        peer_ties = (
            run_tap(
                PEER,
                url,
                workdir,
                "s2-peer-ties",
                start_date=since,
                count_output=True,
                timeout_s=sizes.peer_tie_timeout_s,
                catalog=catalog,
            )
            if with_peer
            else None
        )
        out["s2_ties"] = {
            "changed": len(tied),
            "timestamp": stamp,
            "tap": tap_ties,
            "peer": peer_ties,
            "peer_timeout_s": sizes.peer_tie_timeout_s,
        }
    return out


def limited_ceiling(requests_by_route: dict[str, int], records: int) -> dict[str, Any]:
    """Records/s HubSpot's limits allow for these requests.

    Searches are bound by 5 per second, every other call but v4 association reads by 190 per
    rolling 10 s; both run side by side, so the slower of the two sets the minimum time. The
    exact bound of a rolling window: N calls need at least (ceil(N / 190) - 1) full windows
    (the first 190 at once, each further 190 one window later); the sustained bound (N / 19
    per s) is what a long sync converges to. The bar uses the exact, stricter one.
    """
    searches = sum(requests_by_route.get(route, 0) for route in SEARCH_ROUTES)
    burst = sum(
        n
        for route, n in requests_by_route.items()
        if route not in SEARCH_ROUTES and not route.startswith(ASSOCIATION_ROUTE_PREFIXES)
    )
    exact_s = max(
        (math.ceil(burst / BURST_LIMIT) - 1) * BURST_WINDOW_S if burst else 0.0,
        float(math.ceil(searches / SEARCHES_PER_SECOND) - 1) if searches else 0.0,
    )
    sustained_s = max(burst / (BURST_LIMIT / BURST_WINDOW_S), searches / SEARCHES_PER_SECOND)
    return {
        "burst_requests": burst,
        "search_requests": searches,
        "min_seconds": round(exact_s, 3),
        "records_per_s": round(records / exact_s, 1) if exact_s else None,
        "sustained_min_seconds": round(sustained_s, 3),
        "sustained_records_per_s": round(records / sustained_s, 1) if sustained_s else None,
    }


def run_limited(sizes: Sizes, workdir: Path, with_peer: bool) -> dict[str, Any]:
    """Scenario 3: a full sync (list strategy) and an incremental one (search) under limits."""
    contacts, companies = sizes.limited_contacts, sizes.limited_companies
    pause = BURST_WINDOW_S if contacts > SMALL else 0.0  # let the previous run's window roll
    with hubspot_emulator(contacts, companies, workdir) as (url, _):
        catalog = (
            peer.write_catalog(url, workdir / "peer-catalog-limited.json") if with_peer else None
        )
        _, contact_ids = bare_list(url, "contacts", ["lastmodifieddate"])
        ours = discover_catalog(url, workdir, "limited", {})
        admin(
            url,
            "PUT",
            "/config",
            {"burst_limit": BURST_LIMIT, "search_per_second": SEARCHES_PER_SECOND},
        )
        out: dict[str, Any] = {"contacts": contacts, "companies": companies}
        time.sleep(pause)
        tap = run_tap(TAP, url, workdir, "s3-tap-limited", catalog=ours)
        tap["ceiling"] = limited_ceiling(tap["requests"], tap["records_total"])
        out.update(tap=tap, peer=None)
        if with_peer:
            time.sleep(pause)
            out["peer"] = run_tap(
                PEER,
                url,
                workdir,
                "s3-peer-limited",
                catalog=catalog,
                timeout_s=sizes.peer_limited_timeout_s,
            )
        # The search strategy: an incremental sync of many changes (distinct timestamps).
        since = _now_iso()
        time.sleep(0.01)
        _touch(url, _spread(contact_ids, sizes.limited_changes, offset=3))
        time.sleep(pause)
        tap_incr = run_tap(TAP, url, workdir, "s3-tap-limited-incr", start_date=since, catalog=ours)
        tap_incr["ceiling"] = limited_ceiling(tap_incr["requests"], tap_incr["records_total"])
        out.update(changed=sizes.limited_changes, tap_incremental=tap_incr, peer_incremental=None)
        if with_peer:
            time.sleep(pause)
            out["peer_incremental"] = run_tap(
                PEER,
                url,
                workdir,
                "s3-peer-limited-incr",
                start_date=since,
                catalog=catalog,
                timeout_s=sizes.peer_limited_timeout_s,
            )
    return out


def bars(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The benchmark's bars for scenarios 1-4, each with its value, threshold and verdict."""
    s1, s2f, s2i, s3, s4 = (
        results["s1"],
        results["s2_full"],
        results["s2_incremental"],
        results["s3"],
        results["s4"],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    r1 = ratio(s1["tap"]["records_per_s"], s1["bare"]["records_per_s"])
    out["1"] = [bar("tap records/s >= 50% of the bare client's", r1, 0.5)]
    peer_full = s2f.get("peer")
    r2 = ratio(s2f["tap"]["records_per_s"], peer_full["records_per_s"]) if peer_full else None
    peer_lim, peer_lim_incr = s3.get("peer"), s3.get("peer_incremental")
    tap3, tap3i = s3["tap"], s3["tap_incremental"]
    r2l = ratio(tap3["records_per_s"], peer_lim["records_per_s"]) if peer_lim else None
    r2li = ratio(tap3i["records_per_s"], peer_lim_incr["records_per_s"]) if peer_lim_incr else None
    out["2"] = [
        bar("full sync, no limits: >= 1.5x the peer's records/s", r2, 1.5),
        bar("under scenario 3's limits, full sync: >= 5x the peer's records/s", r2l, 5.0),
        bar("under scenario 3's limits, incremental: >= 5x the peer's records/s", r2li, 5.0),
    ]
    out["3"] = []
    for label, run in (("full sync (list)", tap3), ("incremental (search)", tap3i)):
        r3 = ratio(run["records_per_s"], run["ceiling"]["records_per_s"])
        failed = run["failed_responses"] + (run["exit_code"] or 0)
        out["3"] += [
            bar(f"{label}: records/s >= 90% of the limits' ceiling", r3, 0.9),
            bar(f"{label}: no failed request", failed, 0, "<="),
            bar(
                f"{label}: a handful of 429s at most", run["responses_429"], A_HANDFUL_OF_429S, "<="
            ),
        ]
    first = s4["runs"][0]
    allowed = math.ceil(first["changed"] / SEARCH_LIMIT)
    out["4"] = [
        bar(
            f"requests after {first['changed']} changes <= ceil(changed/200) + constant"
            f" (constant = {first['requests_total'] - allowed})",
            first["requests_total"] - allowed,
            s4.get("constant_allowed", 6),
            "<=",
        ),
    ]
    del s2i
    return out
