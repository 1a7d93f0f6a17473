"""Scenario 8: what journal mode costs HubSpot, against polling, under HubSpot's limits.

On one seeded portal (the emulator enforcing HubSpot's limits, its Webhooks Journal on), the
tap runs from its own STATE with `change_capture: journal` (the OAuth app's client id and
secret for the journal, the private-app token for the CRM):

- **first**: the first run (subscriptions, the newest offset, then a full read);
- **idle**: nothing changed: its CRM requests (bar: at most 3 requests in all, journal calls
  included; the journal's own calls are exempt from the portal's limits);
- **k changes**: `changes` records changed between two runs, of which a quarter are contacts
  re-pointed to another company without being touched (association only), a tenth archived,
  the rest property updates: bar ceil(k/100) + 3 requests;
- **account-ID changes**: `companies_moved` companies get a new account ID (an internal
  account ID, its own STATE): the requests, one IN search per 100 of them included;
- **every 5 minutes for an hour**: 12 runs, the hour's changes spread over them: the
  requests per day (x 24) against **hourly polling** of the same changes (one polling run per
  hour, the daily relink sweep at its default interval added once; polling runs without the
  lookback, whose re-reads scenario 7 measures, so the window holds exactly the hour's changes).

Every run gets the catalog discovered once (as Meltano passes it), so no run reads property
definitions. Requests come from the emulator's stats by route (reset before each run); `crm`
counts what the portal's limits count (`/crm/` routes), `journal` the journal and subscription
calls, `portal` the account-details read (the portal id, once, then remembered in STATE),
`files` the journal files fetched from their pre-signed URLs, `tokens` the OAuth calls. The
bars count every API request but files and tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import HUBSPOT_TOKEN, admin, bar, ratio, scenario_main
from bench.hubspot_side import discover_catalog
from bench.identity_side import run_tap
from emulators.common.process import start_emulator as start_process
from emulators.common.process import stop_process

OAUTH_CLIENT = ("bench-client", "bench-secret", "bench-refresh")  # throwaway local credentials
RUNS_PER_HOUR = 12  # every 5 minutes
HOURS_PER_DAY = 24
IN_SEARCH_SIZE = 100  # companies per relink IN search (streams.RELINK_IN_SIZE)


@dataclass
class JournalSizes:
    """Portal and change sizes of scenario 8."""

    contacts: int
    companies: int
    changes: int  # k records changed between two runs
    companies_moved: int  # of which this many companies got a new account ID
    hourly_changes: int  # changes in the hour of the every-5-minutes scenario


@contextmanager
def limited_emulator(sizes: JournalSizes, workdir: Path) -> Iterator[str]:
    """A seeded emulator with HubSpot's limits and the OAuth app; yields its URL."""
    args = ["--seed-contacts", str(sizes.contacts), "--seed-companies", str(sizes.companies)]
    emulator = start_process(
        "hubspot",
        args,
        log_path=workdir / "hubspot-journal.log",
        env={
            "HUBSPOT_EMULATOR_TOKENS": HUBSPOT_TOKEN,
            "HUBSPOT_EMULATOR_OAUTH_CLIENTS": ":".join(OAUTH_CLIENT),
        },
    )
    try:
        yield emulator.url
    finally:
        stop_process(emulator.process)


def classify(requests: dict[str, int]) -> dict[str, int]:
    """Requests by what they cost: CRM (the portal's limits), journal, files, tokens."""
    out = {"crm": 0, "journal": 0, "files": 0, "tokens": 0, "portal": 0, "other": 0}
    for route, count in requests.items():
        path = route.split(" ", 1)[-1]
        if path.startswith("/crm/"):
            out["crm"] += count
        elif path.startswith("/webhooks-journal/"):
            out["journal"] += count
        elif path.startswith("/hubspot-webhooks-journal/"):
            out["files"] += count
        elif path.startswith("/oauth/"):
            out["tokens"] += count
        elif path.startswith("/account-info/"):
            out["portal"] += count  # account details: the portal id, read once, remembered
        else:
            out["other"] += count
    return out


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    figures = {k: v for k, v in run.items() if k != "state"}
    figures["by_kind"] = classify(run["requests"])
    # What the bars count: every HubSpot API request (the account-details read included)
    # but the OAuth token calls and the files (pre-signed storage URLs, not the API).
    kinds = figures["by_kind"]
    figures["api_requests"] = kinds["crm"] + kinds["journal"] + kinds["portal"] + kinds["other"]
    figures["crm_records_requests"] = sum(
        n for route, n in run["requests"].items() if "/crm/objects/" in route
    )
    return figures


def _update(url: str, object_type: str, record_id: str, body: dict[str, Any]) -> None:
    admin(url, "PATCH", f"/objects/{object_type}/{record_id}", body)


def make_changes(  # noqa: PLR0917 - the run's lists and sizes, named at every call
    url: str,
    contacts: list[dict[str, Any]],
    companies: list[dict[str, Any]],
    count: int,
    moved: int,
    tag: str,
) -> dict[str, int]:
    """`count` contact changes (a quarter re-pointed only, a tenth archived, the rest updated)
    and `moved` companies with a new account ID; the records used are taken off the lists."""
    repoint = count // 4
    archive = count // 10
    update = count - repoint - archive
    company_ids = [c["id"] for c in companies]
    for i in range(repoint):
        contact = contacts.pop()
        others = [c for c in company_ids[i % 7 : i % 7 + 2] if c != contact["primary_company_id"]]
        _update(url, "contacts", contact["id"], {"primary_company_id": others[0]})
    for _ in range(archive):
        admin(url, "POST", f"/objects/contacts/{contacts.pop()['id']}/archive")
    for _ in range(update):
        _update(url, "contacts", contacts.pop()["id"], {"properties": {"city": f"City-{tag}"}})
    for _ in range(moved):
        company = companies.pop()
        value = f"{company['properties'].get('gather_account_id') or company['id']}-{tag}"
        _update(url, "companies", company["id"], {"properties": {"gather_account_id": value}})
    time.sleep(0.01)  # the changes are strictly older than the next run's start
    return {"repointed": repoint, "archived": archive, "updated": update, "companies": moved}


def run_journal(sizes: JournalSizes, workdir: Path) -> dict[str, Any]:
    """Scenario 8 (see the module docstring). The bars' runs key accounts by the company id
    (`account_id_property: companyId`), so a contact's link needs no account-ID lookup; the
    account-ID changes run separately, from its own first run, with `gather_account_id`."""
    journal = {
        "change_capture": "journal",
        "client_id": OAUTH_CLIENT[0],
        "client_secret": OAUTH_CLIENT[1],
        "relink_sweep": False,
        "account_id_property": "companyId",
    }
    # Polling's window holds exactly the hour's changes: no lookback (its re-reads, about a
    # sixth of an hour's changes at the default 600 s, are scenario 7's), or the window would
    # also re-read the journal runs' changes of the minutes before.
    polling = {"change_capture": "poll", "account_id_property": "companyId", "lookback_seconds": 0}
    out: dict[str, Any] = {"contacts": sizes.contacts, "companies": sizes.companies}
    with limited_emulator(sizes, workdir) as url:
        # Discovered once, passed to every run, as Meltano does (a run given a catalog reads
        # no property definitions).
        keys = {"user_id_property": "gather_user_id"}
        catalog = discover_catalog(url, workdir, "s8", {**keys, "account_id_property": "companyId"})
        internal_catalog = discover_catalog(
            url, workdir, "s8-internal", {**keys, "account_id_property": "gather_account_id"}
        )
        contacts = admin(url, "GET", "/objects/contacts")["results"]
        companies = [
            c for c in admin(url, "GET", "/objects/companies")["results"] if c["contact_ids"]
        ]
        first = run_tap(url, workdir, "s8-first", journal, None, catalog=catalog)
        out["first"] = _figures(first)
        idle = run_tap(url, workdir, "s8-idle", journal, first["state"], catalog=catalog)
        out["idle"] = _figures(idle)

        k = sizes.changes
        made = make_changes(url, contacts, companies, k, 0, "k")
        changed = run_tap(url, workdir, "s8-k-changes", journal, idle["state"], catalog=catalog)
        figures = _figures(changed)
        figures["changes"] = {**made, "k": k}
        figures["bar"] = math.ceil(k / 100) + 3
        out["k_changes"] = figures
        state = changed["state"]

        per_run = max(sizes.hourly_changes // RUNS_PER_HOUR, 1)
        hour: list[dict[str, Any]] = []
        poll_contacts = contacts[: len(contacts) // 2]
        del contacts[: len(contacts) // 2]
        for i in range(RUNS_PER_HOUR):
            make_changes(url, contacts, companies, per_run, 0, f"h{i}")
            run = run_tap(url, workdir, f"s8-5min-{i}", journal, state, catalog=catalog)
            state = run["state"]
            hour.append(_figures(run))
        journal_hour = sum(r["api_requests"] for r in hour)
        journal_crm_hour = sum(r["by_kind"]["crm"] for r in hour)
        out["every_5_minutes"] = {
            "runs": len(hour),
            "changes_per_run": per_run,
            "records_per_hour": sum(r["records_total"] for r in hour),
            "api_requests_per_hour": journal_hour,
            "crm_requests_per_hour": journal_crm_hour,
            "api_requests_per_day": journal_hour * HOURS_PER_DAY,
            "crm_requests_per_day": journal_crm_hour * HOURS_PER_DAY,
        }

        # Hourly polling of the same hour of changes, from a polling run's own STATE.
        base = run_tap(url, workdir, "s8-poll-base", polling, None, catalog=catalog)
        make_changes(url, poll_contacts, companies, per_run * RUNS_PER_HOUR, 0, "poll")
        hourly = run_tap(url, workdir, "s8-poll-hourly", polling, base["state"], catalog=catalog)
        sweep = run_tap(
            url,
            workdir,
            "s8-poll-sweep",
            {**polling, "relink_sweep": True, "relink_sweep_interval": 0},
            hourly["state"],
            catalog=catalog,
        )
        hourly_figures = _figures(hourly)
        sweep_figures = _figures(sweep)
        # One sweep a day at the default relink_sweep_interval (24 h), in place of one run.
        per_day = (
            hourly_figures["api_requests"] * (HOURS_PER_DAY - 1) + sweep_figures["api_requests"]
        )
        out["hourly_polling"] = {
            "run": hourly_figures,
            "sweep": sweep_figures,
            "sweep_per_day_at_default_interval": sweep_figures["api_requests"],
            "api_requests_per_day": per_day,
        }
        out["every_5_minutes"]["ratio_to_hourly_polling"] = ratio(
            out["every_5_minutes"]["api_requests_per_day"], per_day
        )

        # Account-ID changes: the re-link searches (an internal account ID).
        internal = {**journal, "account_id_property": "gather_account_id"}
        base = run_tap(url, workdir, "s8-ids-first", internal, None, catalog=internal_catalog)
        made = make_changes(url, [], companies, 0, sizes.companies_moved, "ids")
        moved = run_tap(
            url, workdir, "s8-ids-moved", internal, base["state"], catalog=internal_catalog
        )
        figures = _figures(moved)
        figures["changes"] = made
        figures["relink_searches"] = math.ceil(sizes.companies_moved / IN_SEARCH_SIZE)
        out["account_id_changes"] = figures
    return out


def bars(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scenario 8's bars: an idle run <= 3 API requests; k changes <= ceil(k/100) + 3."""
    changed = result["k_changes"]
    return {
        "8": [
            bar("journal, idle run: API requests <= 3", result["idle"]["api_requests"], 3, "<="),
            bar(
                f"journal, {changed['changes']['k']:,} changed records: API requests <= "
                "ceil(k/100) + 3",
                changed["api_requests"],
                changed["bar"],
                "<=",
            ),
        ]
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.journal_side [--smoke]`: scenario 8 alone, its JSON on stdout."""
    from bench import cli  # here: cli imports this module

    return scenario_main(
        argv,
        module="journal_side",
        label="s8",
        sizes=lambda smoke: cli.SMOKE_JOURNAL if smoke else cli.FULL_JOURNAL,
        run=run_journal,
        bars=bars,
    )


if __name__ == "__main__":
    raise SystemExit(main())
