"""The demo: the main job against local HubSpot and Gather emulators, told in plain words.

1. Start both emulators (HubSpot seeded with a few hundred companies and a few thousand
   contacts, edge cases included: missing IDs, mixed-case emails, contacts without a company).
2. `meltano --environment=demo run tap-hubspot-gather target-gather`, then say what happened:
   accounts and users created, a sample user with its account, what was skipped and why.
3. Change HubSpot (update, create, archive, merge), run again, and show that only the changes
   travelled (request counts on both sides).

The emulators are stopped on success, failure and Ctrl-C. Everything the demo writes stays under
`output/demo/` (state, Gather's database, the rejects file and run summaries), or under
`$DEMO_OUTPUT_DIR` when set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from emulators.common.process import running_emulator

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = Path(os.environ.get("DEMO_OUTPUT_DIR", ROOT / "output" / "demo"))
HUBSPOT_TOKEN = "demo-hubspot-token"  # noqa: S105 - the demo environment's emulator token
GATHER_KEY = "demo-gather-key"
SEED = {"companies": 300, "contacts": 3000, "seed": 7}
ADMIN = "/_emulator"


def say(text: str = "") -> None:
    """One line for the person watching."""
    print(text, flush=True)


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    """Call an emulator's admin API (loopback, no auth) and decode its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL of an emulator we started
        url + ADMIN + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def meltano_run(hubspot_url: str, gather_url: str, run: int) -> float:
    """One `meltano run` of the main job; returns its duration in seconds."""
    env = {
        **os.environ,
        "TAP_HUBSPOT_GATHER_API_URL": hubspot_url,
        "TARGET_GATHER_API_URL": gather_url,
        "MELTANO_STATE_BACKEND_URI": (OUT / "state").as_uri(),
        # Run history and locks too: a demo interrupted earlier never blocks the next one.
        "MELTANO_DATABASE_URI": f"sqlite:///{OUT / 'meltano.db'}",
        "TARGET_GATHER_LEDGER_PATH": str(OUT / "ledger.sqlite3"),
        "TARGET_GATHER_REJECTS_PATH": str(OUT / "rejects.jsonl"),
        "TARGET_GATHER_SUMMARY_PATH": str(OUT / f"summary-run{run}.json"),
    }
    command = [
        str(BIN / "meltano"),
        "--environment=demo",
        "run",
        "tap-hubspot-gather",
        "target-gather",
    ]
    say(f"$ meltano --environment=demo run tap-hubspot-gather target-gather   (run {run})")
    started = time.monotonic()
    with (OUT / f"meltano-run{run}.log").open("w") as log:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=log, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        tail = (OUT / f"meltano-run{run}.log").read_text(encoding="utf-8").splitlines()[-25:]
        say("\n".join(tail))
        msg = f"meltano run failed (exit {result.returncode}); full log: {log.name}"
        raise SystemExit(msg)
    say(f"  finished in {elapsed:.1f} s (log: {OUT / f'meltano-run{run}.log'})")
    return elapsed


def skipped_lines(run: int) -> list[str]:
    """The tap's own report of records skipped for a missing ID."""
    text = (OUT / f"meltano-run{run}.log").read_text(encoding="utf-8")
    found = re.findall(r"((?:companies|contacts): \d+ records skipped because [^\n]*)", text)
    return [line.split(" Fill the ")[0].rstrip(". ") + "." for line in found]


def show_summary(run: int) -> dict[str, Any]:
    """Print the target's run summary: what Gather created, updated, skipped."""
    summary: dict[str, Any] = json.loads(
        (OUT / f"summary-run{run}.json").read_text(encoding="utf-8")
    )
    for model, counts in summary.get("models", {}).items():
        parts = [
            f"{name} {value}"
            for name, value in counts.items()
            if isinstance(value, int) and value and name != "records"
        ]
        say(f"  Gather {model} ({counts.get('records', 0)} records in): " + ", ".join(parts))
    return summary


def show_rejects() -> None:
    """Why records were refused: grouped reasons from the rejects file."""
    path = OUT / "rejects.jsonl"
    if not path.exists():
        say("  No record was invalid or rejected.")
        return
    reasons: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        reasons[f"{entry.get('model')}: {entry.get('reason')}"] += 1
    say(f"  Not sent to Gather (see {path}):")
    for reason, count in reasons.most_common(6):
        say(f"    {count:5d} x {reason}")


def request_counts(url: str) -> dict[str, int]:
    """Requests an emulator served, by route."""
    stats = admin(url, "GET", "/stats")
    stats = stats.get("requests", stats)  # Gather nests request counts beside write outcomes
    return {route: data["total"] for route, data in stats.get("routes", {}).items()}


def show_requests(label: str, counts: dict[str, int]) -> None:
    """Print request counts by route."""
    total = sum(counts.values())
    say(f"  {label}: {total} requests")
    for route, count in sorted(counts.items(), key=lambda item: -item[1]):
        say(f"    {count:6d}  {route}")


def gather_records(gather_url: str, model: str) -> dict[str, dict[str, Any]]:
    """Every record of a Gather model: id -> traits."""
    dump = admin(gather_url, "GET", f"/records/{model}")["records"]
    return {record_id: entry["traits"] for record_id, entry in dump.items()}


def sample_user(gather_url: str) -> None:
    """Show one synced user and the account it is linked to."""
    users = gather_records(gather_url, "user")
    accounts = gather_records(gather_url, "account")
    linked = sorted(uid for uid, traits in users.items() if traits.get("account_id") in accounts)
    if not linked:
        say("  (no user is linked to an account)")
        return
    user_id = linked[len(linked) // 2]
    account_id = users[user_id]["account_id"]
    say("  A sample user and its account, as Gather holds them:")
    say("    user    " + json.dumps({"id": user_id, **users[user_id]}, ensure_ascii=False))
    say("    account " + json.dumps({"id": account_id, **accounts[account_id]}, ensure_ascii=False))


def change_hubspot(hubspot_url: str) -> None:
    """Update, create, archive and merge a few records, as users of HubSpot would."""
    contacts = admin(hubspot_url, "GET", "/objects/contacts?archived=false")["results"]
    companies = admin(hubspot_url, "GET", "/objects/companies?archived=false")["results"]
    with_ids = [c for c in contacts if c["properties"].get("gather_user_id")]
    for contact in with_ids[:5]:
        admin(
            hubspot_url,
            "PATCH",
            f"/objects/contacts/{contact['id']}",
            {"properties": {"city": "Lisbon", "country": "Portugal"}},
        )
    company = next(c for c in companies if c["properties"].get("gather_account_id"))
    for n in range(3):
        admin(
            hubspot_url,
            "POST",
            "/objects/contacts",
            {
                "properties": {
                    "firstname": f"New{n}",
                    "lastname": "Customer",
                    "email": f"New{n}.Customer@Example.com",
                    "gather_user_id": f"U-NEW-{n}",
                },
                "primary_company_id": company["id"],
            },
        )
    for contact in with_ids[5:7]:
        admin(hubspot_url, "POST", f"/objects/contacts/{contact['id']}/archive")
    admin(
        hubspot_url,
        "POST",
        "/objects/contacts/merge",
        {"primary_id": with_ids[7]["id"], "merged_id": with_ids[8]["id"]},
    )
    say("  5 contacts moved to Lisbon, 3 contacts created, 2 archived, 1 merged into another.")


def main() -> int:
    """Run the demo end to end."""
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    say("Gather's HubSpot integration, on local emulators\n")
    hubspot_args = [
        "--seed-companies",
        str(SEED["companies"]),
        "--seed-contacts",
        str(SEED["contacts"]),
        "--seed",
        str(SEED["seed"]),
    ]
    with (
        running_emulator(
            "hubspot",
            hubspot_args,
            log_path=OUT / "hubspot-emulator.log",
            env={"HUBSPOT_EMULATOR_TOKENS": HUBSPOT_TOKEN},
        ) as hubspot,
        running_emulator(
            "gather",
            ["--data-dir", str(OUT / "gather")],
            log_path=OUT / "gather-emulator.log",
            env={"GATHER_EMULATOR_API_KEYS": GATHER_KEY},
        ) as gather,
    ):
        hubspot_url, gather_url = hubspot.url, gather.url
        say(
            f"HubSpot emulator: {hubspot_url}  ({SEED['companies']} companies, "
            f"{SEED['contacts']} contacts)"
        )
        say(f"Gather emulator:  {gather_url}\n")

        say("1. First sync: everything HubSpot holds")
        meltano_run(hubspot_url, gather_url, 1)
        show_summary(1)
        for line in skipped_lines(1):
            say(f"  Skipped by the tap: {line}")
        show_rejects()
        sample_user(gather_url)
        show_requests("HubSpot served", request_counts(hubspot_url))
        show_requests("Gather received", request_counts(gather_url))

        say("\n2. Changing HubSpot")
        admin(hubspot_url, "POST", "/stats/reset")
        admin(gather_url, "POST", "/stats/reset")
        change_hubspot(hubspot_url)

        say("\n3. Second sync: only the changes travel")
        meltano_run(hubspot_url, gather_url, 2)
        show_summary(2)
        show_requests("HubSpot served", request_counts(hubspot_url))
        show_requests("Gather received", request_counts(gather_url))
    say(f"\nEmulators stopped. Everything the demo wrote is under {OUT}.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("\nInterrupted: emulators stopped.")
        sys.exit(130)
