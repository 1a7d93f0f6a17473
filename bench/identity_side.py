"""Scenario 7: what following identities costs an incremental run, against a plain one.

On one seeded portal (no rate limits), `tap-hubspot-gather` runs from its own STATE, as a
scheduled sync does:

- **reference**: a plain incremental run after `changes` contacts changed, with no lookback and
  no reconciliation (`lookback_seconds: 0`, `reconcile: never`); an **idle** plain run with
  nothing changed gives the fixed cost of any run;
- **default lookback**: the next run after as many other changes, with the shipped
  `lookback_seconds`: the extra requests, and the records it re-reads (read again although
  unchanged since the previous run; the target skips them before Gather);
- **account-link propagation**: N companies get a new account ID while none of their contacts
  changes: the requests over the idle run (reading the N companies included) and the contacts
  re-read to follow the links (no lookback);
- **between sweeps**: the shipped polling defaults (the relink sweep not due, reconcile auto)
  with `lookback_seconds: 0` (the lookback's cost is the row above), after as many contact
  changes as the reference plus `companies_renamed` companies modified without touching their
  account ID and `companies_rekeyed` with a new one: each modified company's account-ID history
  is read (50 per request) and only the re-keyed ones re-link their contacts. Bar: at most 2x
  the reference's requests;
- **relink sweep**: one sweep (listing every contact, so that a contact re-pointed without a
  new modified date is re-linked; `relink_sweep_interval: 0` forces it, the default interval
  runs it once a day) with nothing changed; and **the shipped defaults** (sweep interval,
  lookback, automatic reconciliation) with nothing changed, the run after the sweep;
- **reconciliation**: `reconcile: always` with nothing changed: its requests over the idle run,
  and per 100,000 records of the portal.

Requests come from the emulator's stats by route, records from the tap's RECORD messages.
Ratios are against the reference run measured in the same run; `extra_requests` is over the
run named in `over` (the reference for the lookback, the idle run otherwise).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.common import (
    BIN,
    HUBSPOT_TOKEN,
    admin,
    bar,
    hubspot_emulator,
    quiet_env,
    ratio,
    route_counts,
    run_process,
    scenario_main,
)

TAP = "tap-hubspot-gather"
PER_RECORDS = 100_000  # the reconciliation cost is quoted per this many records
TOUCH_BATCH = 50  # ids per touch call
STATE_FILE = "state.json"


@dataclass
class IdentitySizes:
    """Portal and change sizes of scenario 7."""

    contacts: int
    companies: int
    changes: int
    companies_changed: tuple[int, ...]
    companies_renamed: int  # between sweeps: modified, account ID untouched
    companies_rekeyed: int  # between sweeps: a new account ID


class _Reader(threading.Thread):
    """Counts RECORD messages per stream on a tap's stdout and keeps its last STATE."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.records: dict[str, int] = {}
        self.state: dict[str, Any] | None = None

    def run(self) -> None:
        for line in self.stream:
            if line.startswith(b'{"type":"RECORD"') or b'"type": "RECORD"' in line[:40]:
                message = json.loads(line)
                name = message["stream"]
                self.records[name] = self.records.get(name, 0) + 1
            elif b'"STATE"' in line[:40]:
                self.state = json.loads(line)["value"]


def run_tap(
    url: str,
    workdir: Path,
    label: str,
    settings: dict[str, Any],
    state: dict[str, Any] | None,
    *,
    catalog: Path | None = None,
) -> dict[str, Any]:
    """One tap run from `state` (and `catalog`, as Meltano passes one); returns requests by
    route, records per stream, last STATE."""
    config = workdir / f"{label}.config.json"
    config.write_text(
        json.dumps(
            {
                "api_url": url,
                "access_token": HUBSPOT_TOKEN,
                "search_lag_seconds": 0,
                "account_id_property": "gather_account_id",
                "user_id_property": "gather_user_id",
                **{k: v for k, v in settings.items() if v is not None},
            }
        )
    )
    command = [str(BIN / TAP), "--config", str(config)]
    if catalog is not None:
        command += ["--catalog", str(catalog)]
    if state is not None:
        state_path = workdir / f"{label}.{STATE_FILE}"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    admin(url, "POST", "/stats/reset")
    log = workdir / f"{label}.log"
    read_fd, write_fd = os.pipe()
    with log.open("wb") as err, os.fdopen(read_fd, "rb") as out, os.fdopen(write_fd, "wb") as pipe:
        reader = _Reader(out)
        reader.start()
        result = run_process(command, env=quiet_env(), stdout=pipe, stderr=err, cwd=workdir)
        pipe.close()
        reader.join(timeout=60)
    requests = route_counts(url)
    figures: dict[str, Any] = {
        "run": label,
        "exit_code": result.returncode,
        "seconds": round(result.seconds, 3),
        "records": reader.records,
        "records_total": sum(reader.records.values()),
        "requests": requests,
        "requests_total": sum(requests.values()),
        "state": reader.state,
    }
    if result.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()
        figures["error_tail"] = [line[:300] for line in lines[-5:] if "token" not in line.lower()]
    return figures


def _change_contacts(url: str, ids: list[str]) -> None:
    for i in range(0, len(ids), TOUCH_BATCH):
        admin(url, "POST", "/objects/contacts/touch", {"ids": ids[i : i + TOUCH_BATCH]})
    time.sleep(0.01)  # the changes are strictly older than the next run's start


def _between_sweeps(  # noqa: PLR0917 - the portal, sizes and lists of run_identity
    url: str,
    workdir: Path,
    sizes: IdentitySizes,
    companies: list[dict[str, Any]],
    contacts: list[str],
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    """A polling run between two sweeps: the shipped defaults, the sweep not due (the first run
    listed every contact moments ago), no lookback (its cost is measured on its own), after
    `contacts` changed, `companies_renamed` companies renamed, `companies_rekeyed` re-keyed
    (taken from the end of `companies`, which the link-propagation runs do not reach)."""
    renamed = companies[-sizes.companies_renamed :]
    rekeyed = companies[-(sizes.companies_renamed + sizes.companies_rekeyed) : -len(renamed)]
    _change_contacts(url, contacts)
    for company in renamed:
        body = {"properties": {"name": f"{company['properties'].get('name')} (renamed)"}}
        admin(url, "PATCH", f"/objects/companies/{company['id']}", body)
    _rekey(url, rekeyed)
    run = run_tap(url, workdir, "s7-between-sweeps", {"lookback_seconds": 0}, state)
    run["companies_renamed"] = len(renamed)
    run["companies_rekeyed"] = len(rekeyed)
    run["contacts_linked"] = sum(len(c["contact_ids"]) for c in rekeyed)
    run["contacts_of_renamed"] = sum(len(c["contact_ids"]) for c in renamed)
    return run


def _rekey(url: str, companies: list[dict[str, Any]]) -> None:
    """A new account ID for each company (their contacts stay untouched)."""
    for company in companies:
        value = f"{company['properties']['gather_account_id']}-MOVED"
        body = {"properties": {"gather_account_id": value}}
        admin(url, "PATCH", f"/objects/companies/{company['id']}", body)
    time.sleep(0.01)  # the changes are strictly older than the next run's start


def bars(s7: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scenario 7's bar: polling between two sweeps costs at most 2x a plain incremental run."""
    between = s7["between_sweeps"]
    return {
        "7": [
            bar(
                "polling between sweeps (modified and re-keyed companies included): requests "
                "<= 2x a plain incremental run",
                between["requests_ratio"],
                2.0,
                "<=",
            )
        ]
    }


def _public(
    run: dict[str, Any], reference: dict[str, Any], over: dict[str, Any], changed: int
) -> dict[str, Any]:
    """A run's figures without its STATE: its ratio to the reference, its extra requests over
    `over`, and the records it read beyond the `changed` ones."""
    figures = {k: v for k, v in run.items() if k != "state"}
    figures["over"] = over["run"]
    figures["extra_requests"] = run["requests_total"] - over["requests_total"]
    figures["requests_ratio"] = ratio(run["requests_total"], reference["requests_total"])
    figures["re_read"] = run["records_total"] - changed
    return figures


def run_identity(sizes: IdentitySizes, workdir: Path) -> dict[str, Any]:
    """Scenario 7 (see the module docstring). Every run but `defaults` states its settings;
    the plain ones switch off the lookback, the reconciliation and the relink sweep."""
    plain = {"lookback_seconds": 0, "reconcile": "never", "relink_sweep": False}
    out: dict[str, Any] = {"contacts": sizes.contacts, "companies": sizes.companies}
    with hubspot_emulator(sizes.contacts, sizes.companies, workdir) as (url, _startup):
        contacts = [r["id"] for r in admin(url, "GET", "/objects/contacts")["results"]]
        companies = [
            r
            for r in admin(url, "GET", "/objects/companies")["results"]
            if r["properties"].get("gather_account_id") and r["contact_ids"]
        ]
        first = run_tap(url, workdir, "s7-first", plain, None)
        out["first"] = {k: v for k, v in first.items() if k != "state"}
        step = max(len(contacts) // (3 * sizes.changes), 1)
        batches = [contacts[offset::step][: sizes.changes] for offset in (0, 1, 2)]

        _change_contacts(url, batches[0])
        reference = run_tap(url, workdir, "s7-reference", plain, first["state"])
        out["reference"] = _public(reference, reference, reference, sizes.changes)
        idle = run_tap(url, workdir, "s7-idle", plain, reference["state"])
        out["idle"] = _public(idle, reference, idle, 0)

        _change_contacts(url, batches[1])
        lookback = run_tap(
            url, workdir, "s7-lookback", {**plain, "lookback_seconds": None}, idle["state"]
        )
        out["default_lookback"] = _public(lookback, reference, reference, sizes.changes)
        state = lookback["state"]

        out["link_propagation"] = []
        for n in sizes.companies_changed:
            chosen = companies[:n]
            companies = companies[n:]
            _rekey(url, chosen)
            run = run_tap(url, workdir, f"s7-links-{n}", plain, state)
            state = run["state"]
            figures = _public(run, reference, idle, n)
            figures["companies_changed"] = n
            figures["contacts_linked"] = sum(len(c["contact_ids"]) for c in chosen)
            figures["contacts_re_read"] = run["records"].get("contacts", 0)
            out["link_propagation"].append(figures)

        between = _between_sweeps(url, workdir, sizes, companies, batches[2], state)
        state = between.pop("state")
        out["between_sweeps"] = _public(between, reference, reference, sizes.changes)

        # One sweep (interval 0 forces it now): what the default interval costs once a day.
        sweep = run_tap(
            url,
            workdir,
            "s7-sweep",
            {**plain, "relink_sweep": True, "relink_sweep_interval": 0},
            state,
        )
        out["relink_sweep"] = _public(sweep, reference, idle, 0)
        shipped = run_tap(url, workdir, "s7-defaults", {}, sweep["state"])
        out["defaults"] = _public(shipped, reference, idle, 0)
        reconcile = run_tap(
            url, workdir, "s7-reconcile", {**plain, "reconcile": "always"}, shipped["state"]
        )
        figures = _public(reconcile, reference, idle, 0)
        records = sizes.contacts + sizes.companies
        figures["requests_per_100k_records"] = round(
            reconcile["requests_total"] * PER_RECORDS / records, 1
        )
        out["reconciliation"] = figures
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.identity_side [--smoke]`: scenario 7 alone, its JSON on stdout."""
    from bench import cli  # here: cli imports this module

    return scenario_main(
        argv,
        module="identity_side",
        label="s7",
        sizes=lambda smoke: cli.SMOKE_IDENTITY if smoke else cli.FULL_IDENTITY,
        run=run_identity,
        bars=bars,
    )


if __name__ == "__main__":
    raise SystemExit(main())
