"""RESULTS.md and its two charts, drawn from one benchmark result (the JSON the run wrote)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

BENCH = Path(__file__).resolve().parent
THROUGHPUT_PNG = "throughput.png"
MEMORY_PNG = "memory.png"


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if abs(value) >= 100 or digits == 0 else f"{value:,.2f}"
    return str(value)


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _rps(run: dict[str, Any] | None) -> float | None:
    return None if run is None else run.get("records_per_s")


def throughput_bars(result: dict[str, Any]) -> list[tuple[str, list[tuple[str, float | None]]]]:
    """Per scenario: (label, [(contender, records/s)]), the ceiling or reference first."""
    s = result["scenarios"]
    groups: list[tuple[str, list[tuple[str, float | None]]]] = [
        (
            "1. extraction\n(no limits)",
            [
                ("ceiling: bare client", _rps(s["s1"]["bare"])),
                ("tap-hubspot-gather", _rps(s["s1"]["tap"])),
                ("peer tap-hubspot", _rps(s["s2_full"].get("peer"))),
            ],
        ),
        (
            "3. HubSpot limits, full sync\n(190/10 s, 5 search/s)",
            [
                ("ceiling: limits", s["s3"]["tap"]["ceiling"]["records_per_s"]),
                ("tap-hubspot-gather", _rps(s["s3"]["tap"])),
                ("peer tap-hubspot", _rps(s["s3"].get("peer"))),
            ],
        ),
        (
            "3. HubSpot limits, incremental\n(search)",
            [
                ("ceiling: limits", s["s3"]["tap_incremental"]["ceiling"]["records_per_s"]),
                ("tap-hubspot-gather", _rps(s["s3"]["tap_incremental"])),
                ("peer tap-hubspot", _rps(s["s3"].get("peer_incremental"))),
            ],
        ),
        (
            "5. target\n(Gather emulator)",
            [
                ("ceiling: bare client", _rps(s["s5"]["bare"])),
                ("target-gather", _rps(s["s5"]["target"])),
            ],
        ),
        (
            "6. meltano run, Gather writes/s\n(end to end)",
            [
                ("reference: target alone (5.)", _rps(s["s5"]["target"])),
                ("meltano run", s["s6"]["runs"][-1].get("gather_writes_per_s")),
            ],
        ),
    ]
    return groups


def draw_throughput(result: dict[str, Any], path: Path) -> None:
    """Records/s of each contender per scenario, beside the ceiling it is measured against."""
    groups = throughput_bars(result)
    colours = {"ceiling": "#9e9e9e", "peer": "#e07b39"}
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 4.2))
    for ax, (label, bars) in zip(axes, groups, strict=True):
        names = [n for n, _ in bars]
        values = [v or 0.0 for _, v in bars]
        colour = [
            colours["ceiling"]
            if n.startswith(("ceiling", "reference"))
            else colours["peer"]
            if "peer" in n
            else "#2f6db3"
            for n in names
        ]
        ax.bar(range(len(values)), values, color=colour)
        ax.set_xticks(range(len(values)), [n.replace(": ", ":\n") for n in names], fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("records/s")
        top = max(values) if values else 1.0
        for i, v in enumerate(values):
            ax.text(i, v + top * 0.01, f"{v:,.0f}", ha="center", fontsize=7)
    fig.suptitle("Records per second against each scenario's ceiling (higher is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_memory(result: dict[str, Any], path: Path) -> None:
    """Peak RSS of meltano, tap and target against the number of contacts synced."""
    s6 = result["scenarios"]["s6"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    variants = (
        ("", s6["runs"], "-"),
        (", elt.buffer_size 2 MiB", s6.get("runs_small_buffer"), "--"),
    )
    for suffix, runs, style in variants:
        if not runs:
            continue
        xs = [r["contacts"] for r in runs]
        for colour, role in zip(("C0", "C1", "C2"), ("meltano", "tap", "target"), strict=True):
            if suffix and role != "meltano":
                continue  # the buffer only changes meltano's own memory
            ys = [r["peak_rss_mib"].get(role) or 0 for r in runs]
            ax.plot(xs, ys, style, color=colour, marker="o", label=role + suffix)
    ax.set_xscale("log")
    ax.set_xlabel("contacts synced (meltano run, companies = contacts / 10)")
    ax.set_ylabel("peak RSS (MiB)")
    ax.set_ylim(bottom=0)
    ax.set_title("Peak memory per process against record count (flat is good)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _load_note(result: dict[str, Any]) -> str:
    """Other work on the machine during the run (it skews absolute figures, less the ratios)."""
    load = result.get("load_average_1min")
    if not load:
        return ""
    return (
        f"1-minute load average {load['start']} at the start and {load['end']} at the end of "
        f"the run ({result['machine']['cores']} cores)."
    )


def _bars_table(result: dict[str, Any]) -> list[str]:
    lines = ["| scenario | bar | value | threshold | met |", "|---|---|---|---|---|"]
    lines += [
        f"| {scenario} | {item['bar']} | {_fmt(item['value'], 3)} | {item['op']} "
        f"{_fmt(item['threshold'], 2)} | {'**met**' if item['met'] else '**not met**'} |"
        for scenario, items in sorted(result["bars"].items())
        for item in items
    ]
    return lines


def _run_row(name: str, run: dict[str, Any] | None, reference: float | None) -> str:
    if run is None:
        return f"| {name} | not run | | | | | | | |"
    rps = run.get("records_per_s")
    ratio = None if rps is None or not reference else rps / reference
    records = run.get("records_total", run.get("records_in"))
    sync_s = run.get("sync_seconds")
    steady = records / sync_s if records and sync_s else None
    return (
        f"| {name} | {_fmt(records)} | "
        f"{_fmt(run.get('seconds'), 2)} | {_fmt(rps)} | {_x(ratio)} | {_fmt(steady)} | "
        f"{_fmt(run.get('cpu_us_per_record'), 1)} | {_fmt(run.get('peak_rss_mib'), 1)} | "
        f"{_fmt(run.get('requests_total'))} |"
    )


_RUN_HEADER = [
    "| contender | records | seconds | records/s | vs reference | records/s after start-up "
    "| CPU us/record | peak RSS MiB | requests |",
    "|---|---|---|---|---|---|---|---|---|",
]


def render(result: dict[str, Any]) -> str:
    """RESULTS.md for one benchmark result."""
    m = result["machine"]
    s = result["scenarios"]
    sz = result["sizes"]
    out = [
        "# Benchmark results",
        "",
        f"Run {result['timestamp']} by `make bench` (`python -m bench`,"
        f" {result['total_seconds']:.0f} s"
        f" in all) on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}"
        f" ({m['platform']}). Raw figures: `bench/results/{result['file']}`.",
        "Every figure sits beside its ratio to the reference measured in the same run. "
        + _load_note(result),
        "",
        f"![records per second]({THROUGHPUT_PNG})",
        "",
        f"![peak memory]({MEMORY_PNG})",
        "",
        "## Bars",
        "",
        *_bars_table(result),
        "",
        "Why the missed bars are missed, with the profiles that show it and what would fix it: "
        "[ANALYSIS.md](ANALYSIS.md).",
        "",
        "## 1. Extraction ceiling (no rate limits)",
        "",
        f"{sz['contacts']:,} contacts and {sz['companies']:,} companies, every property "
        f"({s['s1']['bare']['properties']['contacts']} of contacts, "
        f"{s['s1']['bare']['properties']['companies']} of companies); the tap writes to "
        "/dev/null. Reference: a bare "
        "`requests` session fetching the same list pages (100 per page) and decoding them.",
        "",
        *_RUN_HEADER,
        _run_row("bare client (reference)", s["s1"]["bare"], _rps(s["s1"]["bare"])),
        _run_row("tap-hubspot-gather", s["s1"]["tap"], _rps(s["s1"]["bare"])),
        "",
        "## 2. Against the peer (`meltano-tap-hubspot` 0.10.1, own venv)",
        "",
        "Full sync, same data, same properties, no limits (reference: the peer):",
        "",
        *_RUN_HEADER,
        _run_row("peer (reference)", s["s2_full"].get("peer"), _rps(s["s2_full"].get("peer"))),
        _run_row("tap-hubspot-gather", s["s2_full"]["tap"], _rps(s["s2_full"].get("peer"))),
        "",
        *_incremental_section(s["s2_incremental"]),
        "",
        *_ties_section(s["s2_ties"]),
        "",
        "## 3. Under HubSpot's limits (190 requests / 10 s, 5 searches / s)",
        "",
        *_limited_section(s["s3"]),
        "",
        "## 4. Incremental cost",
        "",
        *_incremental_cost_section(s["s4"]),
        "",
        "## 5. Target into the Gather emulator",
        "",
        *_target_section(s["s5"]),
        "",
        "## 6. End to end: `meltano run tap-hubspot-gather target-gather`",
        "",
        *_e2e_section(s["s6"], _rps(s["s5"]["target"])),
        "",
    ]
    if "s7" in s:
        out += ["## 7. Following identities: extra cost per incremental run", ""]
        out += [*_identity_section(s["s7"]), ""]
    if "s8" in s:
        out += ["## 8. Journal mode against polling (HubSpot's limits)", ""]
        out += [*_journal_section(s["s8"]), ""]
    if result.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in result["notes"]], ""]
    return "\n".join(out)


def _routes(run: dict[str, Any] | None) -> str:
    if not run:
        return "n/a"
    return ", ".join(f"`{k}` {v}" for k, v in sorted(run.get("requests", {}).items()))


def _incremental_section(s2i: dict[str, Any]) -> list[str]:
    lines = [
        f"Incremental sync after {s2i['changed']:,} contacts changed (each tap from a start date "
        "just before the change):",
        "",
        "| contender | records | requests | by route | seconds |",
        "|---|---|---|---|---|",
    ]
    for name, run in (("tap-hubspot-gather", s2i["tap"]), ("peer", s2i.get("peer"))):
        if run is None:
            lines.append(f"| {name} | not run | | | |")
            continue
        lines.append(
            f"| {name} | {_fmt(run['records_total'])} | {run['requests_total']} | {_routes(run)} "
            f"| {_fmt(run['seconds'], 2)} |"
        )
    return lines


def _ties_section(ties: dict[str, Any]) -> list[str]:
    lines = [
        f"{ties['changed']:,} contacts changed with one identical modified timestamp; each tap "
        "syncs incrementally from just before it (the peer bounded to "
        f"{ties['peer_timeout_s']:.0f} s):",
        "",
        "| contender | outcome | records emitted | distinct contacts | requests | 429s "
        "| failed | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in (("tap-hubspot-gather", ties["tap"]), ("peer", ties.get("peer"))):
        if run is None:
            lines.append(f"| {name} | not run | | | | | | |")
            continue
        distinct = run.get("distinct_ids", {}).get("contacts", 0)
        emitted = run["records"].get("contacts", 0)
        if run["timed_out"]:
            per_contact = emitted / max(distinct, 1)
            outcome = (
                f"killed at the time bound, still running ({per_contact:.1f} emissions per contact)"
            )
        elif run["exit_code"]:
            outcome = f"failed (exit {run['exit_code']})"
        elif distinct == ties["changed"] and emitted == distinct:
            outcome = "each changed contact exactly once"
        else:
            outcome = f"finished: {distinct:,} of {ties['changed']:,} contacts"
        lines.append(
            f"| {name} | {outcome} | {emitted:,} | {distinct:,} | {run['requests_total']} | "
            f"{run['responses_429']} | {run['failed_responses']} | {_fmt(run['seconds'], 1)} |"
        )
    return lines


def _limited_section(s3: dict[str, Any]) -> list[str]:
    tap, tap_incr = s3["tap"], s3["tap_incremental"]
    ceiling, ceiling_incr = tap["ceiling"], tap_incr["ceiling"]
    lines = [
        f"{s3['contacts']:,} contacts and {s3['companies']:,} companies: a full sync (the tap uses "
        f"the list endpoint), then an incremental sync after {s3['changed']:,} contacts changed "
        "(distinct timestamps; the tap uses keyset search). Each ceiling is computed from the "
        "requests the tap actually made (emulator stats by route): calls other than search at "
        "190 per rolling 10 s (the first 190 at once, each further 190 a window later), "
        "searches at 5 per second. Wall time includes start-up.",
        "",
        f"- full sync: {ceiling['burst_requests']} calls and {ceiling['search_requests']} "
        f"searches need at least {ceiling['min_seconds']} s: {_fmt(ceiling['records_per_s'])} "
        f"records/s (sustained rate, what a long sync converges to: "
        f"{_fmt(ceiling['sustained_records_per_s'])} records/s);",
        f"- incremental: {ceiling_incr['burst_requests']} calls and "
        f"{ceiling_incr['search_requests']} searches need at least "
        f"{ceiling_incr['min_seconds']} s: {_fmt(ceiling_incr['records_per_s'])} records/s.",
        "",
        "| sync | contender | records | seconds | records/s | vs ceiling | requests | 429s "
        "| failed | exit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = (
        ("full", "tap-hubspot-gather", tap, ceiling),
        ("full", "peer", s3.get("peer"), ceiling),
        ("incremental", "tap-hubspot-gather", tap_incr, ceiling_incr),
        ("incremental", "peer", s3.get("peer_incremental"), ceiling_incr),
    )
    for sync, name, run, ceil in rows:
        if run is None:
            lines.append(f"| {sync} | {name} | not run | | | | | | | |")
            continue
        rps, top = run["records_per_s"], ceil["records_per_s"]
        lines.append(
            f"| {sync} | {name} | {_fmt(run['records_total'])} | {_fmt(run['seconds'], 1)} | "
            f"{_fmt(rps)} | {_x(rps / top if rps and top else None)} | "
            f"{run['requests_total']} | {run['responses_429']} | {run['failed_responses']} | "
            f"{'timeout' if run['timed_out'] else run['exit_code']} |"
        )
    return lines


def _incremental_cost_section(s4: dict[str, Any]) -> list[str]:
    lines = [
        f"Changes to contacts out of {s4['contacts']:,}, then an incremental run of the tap "
        "(from a "
        "start date just before the changes; companies unchanged). Allowed requests: "
        "ceil(changed/200) + a constant.",
        "",
        "| changed | records | requests | ceil(changed/200) | constant | by route | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in s4["runs"]:
        base = -(-run["changed"] // 200)
        lines.append(
            f"| {run['changed']:,} | {_fmt(run['records_total'])} | {run['requests_total']} "
            f"| {base} | "
            f"{run['requests_total'] - base} | {_routes(run)} | {_fmt(run['seconds'], 2)} |"
        )
    fit = s4.get("fit")
    if fit:
        lines += [
            "",
            f"Time against changes (least squares): {fit['fixed_s']:.2f} s fixed (process start, "
            f"discovery) + {fit['per_change_ms']:.3f} ms per changed record"
            f" (R^2 = {fit['r2']:.3f}).",
        ]
    return lines


def _identity_row(name: str, run: dict[str, Any], changed: str) -> str:
    over = "" if run["over"] == run["run"] else f" (over {run['over'].removeprefix('s7-')})"
    return (
        f"| {name} | {changed} | {run['requests_total']} | {run['extra_requests']:+d}{over} "
        f"| {_x(run['requests_ratio'])} | {_fmt(run['records_total'])} | {_fmt(run['re_read'])} "
        f"| {_routes(run)} | {_fmt(run['seconds'], 2)} |"
    )


def _identity_section(s7: dict[str, Any]) -> list[str]:
    ref = s7["reference"]
    changed = ref["records_total"] - ref["re_read"]
    lines = [
        f"`tap-hubspot-gather` from its own STATE on {s7['contacts']:,} contacts and "
        f"{s7['companies']:,} companies (no rate limits). Reference: a plain incremental run "
        "after the changed contacts (`lookback_seconds: 0`, `reconcile: never`, "
        "`relink_sweep: false`; every run but the last two changes one of these). Re-read: "
        "records read although unchanged since the previous run (the target skips them before "
        "Gather). Extra: requests over the reference (lookback) or over an idle plain run with "
        "nothing changed (the others; reading the changed companies included).",
        "",
        "| run | changed | requests | extra | ratio | records | re-read | by route | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
        _identity_row("plain incremental (reference)", ref, f"{changed:,} contacts"),
        _identity_row("idle plain run", s7["idle"], "nothing"),
    ]
    lines.append(
        _identity_row("default lookback", s7["default_lookback"], f"{changed:,} other contacts")
    )
    lines.extend(
        _identity_row(
            "account-link propagation",
            run,
            f"{run['companies_changed']} companies' account ID ({run['contacts_linked']} "
            "contacts linked, untouched)",
        )
        for run in s7["link_propagation"]
    )
    between = s7.get("between_sweeps")
    if between is not None:
        lines.append(
            _identity_row(
                "polling between sweeps (defaults, `lookback_seconds: 0`)",
                between,
                f"{changed:,} contacts, {between['companies_renamed']} companies renamed "
                f"({between['contacts_of_renamed']} contacts, not re-read), "
                f"{between['companies_rekeyed']} re-keyed ({between['contacts_linked']} contacts "
                "re-linked)",
            )
        )
    lines += [
        _identity_row(
            "one relink sweep (once per `relink_sweep_interval`)", s7["relink_sweep"], "nothing"
        ),
        _identity_row(
            "shipped defaults (sweep, lookback, reconcile auto)", s7["defaults"], "nothing"
        ),
    ]
    rec = s7["reconciliation"]
    lines += [
        _identity_row("reconciliation (`reconcile: always`)", rec, "nothing"),
        "",
        f"Reconciliation: {rec['requests_per_100k_records']:,} requests per 100,000 records "
        "(list pages of up to 100 records).",
    ]
    return lines


def _journal_row(name: str, run: dict[str, Any], changed: str) -> str:
    kinds = run["by_kind"]
    return (
        f"| {name} | {changed} | {run['api_requests']} | {kinds['crm']} | {kinds['journal']} "
        f"| {kinds['files']} | {kinds['tokens']} | {_fmt(run['records_total'])} "
        f"| {_routes(run)} | {_fmt(run['seconds'], 2)} |"
    )


def _journal_section(s8: dict[str, Any]) -> list[str]:
    k = s8["k_changes"]
    made = k["changes"]
    five = s8["every_5_minutes"]
    poll = s8["hourly_polling"]
    ids = s8["account_id_changes"]
    return [
        f"`tap-hubspot-gather` with `change_capture: journal` from its own STATE on "
        f"{s8['contacts']:,} contacts and {s8['companies']:,} companies, the emulator enforcing "
        "HubSpot's limits. API requests: CRM plus journal calls (the journal's are exempt from "
        "the portal's limits); files: journal files fetched from their pre-signed URLs; tokens: "
        "OAuth calls. Bars: an idle run <= 3 API requests; k changed records <= ceil(k/100) + 3.",
        "",
        "| run | changed | API requests | CRM | journal | files | tokens | records | by route "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _journal_row("first run (subscribe, offset, full read)", s8["first"], "-"),
        _journal_row("idle", s8["idle"], "nothing"),
        _journal_row(
            f"k changes (bar {k['bar']})",
            k,
            f"{made['k']:,} contacts: {made['updated']:,} updated, {made['repointed']:,} "
            f"re-pointed only, {made['archived']:,} archived",
        ),
        _journal_row(
            "account-ID changes (internal account ID)",
            ids,
            f"{ids['changes']['companies']} companies ({ids['relink_searches']} IN search)",
        ),
        _journal_row("hourly polling run", poll["run"], f"{five['changes_per_run'] * 12} contacts"),
        _journal_row("relink sweep (polling, once a day)", poll["sweep"], "nothing"),
        "",
        f"Every 5 minutes for an hour ({five['runs']} runs, {five['changes_per_run']} changes "
        f"each): {five['api_requests_per_hour']:,} API requests per hour "
        f"({five['crm_requests_per_hour']:,} CRM), {five['api_requests_per_day']:,} per day; "
        f"hourly polling of the same changes with the daily sweep: "
        f"{poll['api_requests_per_day']:,} per day (ratio {_x(five['ratio_to_hourly_polling'])}). "
        "The relink sweep at its default interval costs "
        f"{poll['sweep_per_day_at_default_interval']:,} requests per day.",
    ]


def _target_section(s5: dict[str, Any]) -> list[str]:
    bare, first, second = s5["bare"], s5["target"], s5["target_unchanged"]
    summary = second.get("summary") or {}
    return [
        f"{s5['records']:,} user records (SQLite WAL emulator, concurrency 16). Reference: a bare "
        "aiohttp client posting the same payloads with the same concurrency "
        f"(same trait names stored: {s5['same_traits_as_bare']}).",
        "",
        "| contender | records | seconds | records/s | vs reference | CPU us/record "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
        f"| bare client (reference) | {_fmt(bare['records_in'])} | {_fmt(bare['seconds'], 2)} | "
        f"{_fmt(bare['records_per_s'])} | 1.00x | | |",
        f"| target-gather, first run | {_fmt(first['records_in'])} | {_fmt(first['seconds'], 2)} | "
        f"{_fmt(first['records_per_s'])} | {_x(first['records_per_s'] / bare['records_per_s'])} | "
        f"{_fmt(first['cpu_us_per_record'], 1)} | {_fmt(first['peak_rss_mib'], 1)} |",
        f"| target-gather, unchanged re-run | {_fmt(second['records_in'])} | "
        f"{_fmt(second['seconds'], 2)} | {_fmt(second['records_per_s'])} | "
        f"{_x(second['records_per_s'] / bare['records_per_s'])} | "
        f"{_fmt(second['cpu_us_per_record'], 1)} | {_fmt(second['peak_rss_mib'], 1)} |",
        "",
        "Unchanged re-run: Gather requests "
        f"{second['gather_stats']['requests'].get('total', 'n/a')}; "
        f"target summary: `{_short(summary)}`.",
    ]


def _short(summary: Any) -> str:
    if not isinstance(summary, dict):
        return "n/a"
    models = summary.get("models", summary)
    return str(models)[:300]


def _ratio(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


def _e2e_section(s6: dict[str, Any], target_alone: float | None) -> list[str]:
    lines = [
        "The project's job with the `demo` environment (IDs from `gather_account_id` / "
        "`gather_user_id`), both emulators fresh, empty state. Peak RSS sampled every 50 ms. "
        "Each size runs twice: as the project ships (Meltano's default `elt.buffer_size`, "
        "100 MiB) and with `MELTANO_ELT_BUFFER_SIZE` = 2 MiB. Gather writes/s counts the "
        "records Gather created (records without an ID or a required trait are never sent), "
        "against the target alone in scenario 5.",
        "",
        "| contacts + companies | meltano elt.buffer_size | seconds | records/s "
        "| Gather writes/s | vs target alone | exit | meltano MiB | tap MiB | target MiB "
        "| Gather creates |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(run, "default (100 MiB)") for run in s6["runs"]]
    rows += [(run, "2 MiB") for run in s6.get("runs_small_buffer", [])]
    for run, buffer in rows:
        peaks = run["peak_rss_mib"]
        creates = {
            model: v.get("creates")
            for model, v in (run["gather_stats"].get("records") or {}).items()
        }
        lines.append(
            f"| {run['contacts']:,} + {run['companies']:,} | {buffer} "
            f"| {_fmt(run['seconds'], 1)} | "
            f"{_fmt(run['records_per_s'])} | {_fmt(run.get('gather_writes_per_s'))} | "
            f"{_x(_ratio(run.get('gather_writes_per_s'), target_alone))} | {run['exit_code']} "
            f"| {_fmt(peaks.get('meltano'), 1)} | "
            f"{_fmt(peaks.get('tap'), 1)} | {_fmt(peaks.get('target'), 1)} | {creates} |"
        )
    return lines


def write(result: dict[str, Any], directory: Path = BENCH) -> Path:
    """Draw both charts and write RESULTS.md into `directory`."""
    draw_throughput(result, directory / THROUGHPUT_PNG)
    draw_memory(result, directory / MEMORY_PNG)
    path = directory / "RESULTS.md"
    path.write_text(render(result))
    return path
