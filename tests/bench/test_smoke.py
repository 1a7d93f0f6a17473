"""The benchmark still runs: every scenario at tiny sizes, its JSON and its report.

Figures at these sizes mean nothing and are not asserted (benchmarks are not tests); what is
pinned down is that each scenario ran against the real emulators, counted what it should, and
that the result renders into RESULTS.md and two PNG charts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report

ROOT = Path(__file__).resolve().parents[2]
SMOKE_BUDGET_S = 150  # the run itself takes ~40 s on 2 cores when the machine is otherwise idle


@pytest.fixture(scope="module")
def smoke_result() -> dict[str, Any]:
    """One `python -m bench --smoke --no-write` run, parsed from stdout."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_BUDGET_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_every_scenario_reports_its_bars(smoke_result: dict[str, Any]) -> None:
    assert smoke_result["smoke"] is True
    assert set(smoke_result["bars"]) == {"1", "2", "3", "4", "5", "6", "7", "8"}
    for items in smoke_result["bars"].values():
        assert items
        for item in items:
            assert {"bar", "value", "threshold", "op", "met"} <= set(item)
            assert isinstance(item["met"], bool)
    assert {"cpu", "cores", "memory_gib", "python"} <= set(smoke_result["machine"])


def test_contenders_extract_everything_they_were_given(smoke_result: dict[str, Any]) -> None:
    sizes, s = smoke_result["sizes"], smoke_result["scenarios"]
    seeded = sizes["contacts"] + sizes["companies"]
    assert s["s1"]["bare"]["records_total"] == seeded
    assert s["s1"]["tap"]["records_total"] == seeded
    assert s["s2_full"]["peer"]["records_total"] == seeded
    assert s["s1"]["tap"]["cpu_us_per_record"] > 0
    assert s["s1"]["tap"]["peak_rss_mib"] > 10  # sampled, not the bench's own high-water mark
    limited = sizes["limited_contacts"] + sizes["limited_companies"]
    assert s["s3"]["tap"]["records_total"] == limited
    assert s["s3"]["tap"]["ceiling"]["burst_requests"] > 0
    assert s["s3"]["tap_incremental"]["records"].get("contacts") == sizes["limited_changes"]
    assert s["s3"]["tap_incremental"]["ceiling"]["search_requests"] > 0


def test_incremental_runs_see_exactly_the_changes(smoke_result: dict[str, Any]) -> None:
    s = smoke_result["scenarios"]
    for run in s["s4"]["runs"]:
        assert {k: v for k, v in run["records"].items() if v} == {"contacts": run["changed"]}
    ties = s["s2_ties"]
    assert ties["tap"]["distinct_ids"] == {"contacts": ties["changed"]}
    assert ties["tap"]["records"] == {"contacts": ties["changed"]}


def test_target_and_pipeline_deliver(smoke_result: dict[str, Any]) -> None:
    s5, s6 = smoke_result["scenarios"]["s5"], smoke_result["scenarios"]["s6"]
    assert s5["bare"]["failures"] == 0
    assert s5["target"]["exit_code"] == 0, s5["target"]
    assert s5["same_traits_as_bare"] is True
    assert s5["target"]["gather_stats"]["records"]["user"]["creates"] == s5["records"]
    for run in s6["runs"]:
        assert run["exit_code"] == 0, run.get("error_tail")
        assert {"meltano", "tap", "target"} <= set(run["peak_rss_mib"])


def test_result_renders_into_a_report_and_two_charts(
    smoke_result: dict[str, Any], tmp_path: Path
) -> None:
    path = report.write({**smoke_result, "file": "smoke.json"}, tmp_path)
    text = path.read_text()
    assert "## Bars" in text
    assert "## 6. End to end" in text
    for chart in (report.THROUGHPUT_PNG, report.MEMORY_PNG):
        assert (tmp_path / chart).read_bytes().startswith(b"\x89PNG")


def test_journal_mode_reads_only_what_changed(smoke_result: dict[str, Any]) -> None:
    s8 = smoke_result["scenarios"]["s8"]
    assert s8["first"]["records_total"] == s8["contacts"] + s8["companies"]
    assert s8["idle"]["records_total"] == 0
    assert s8["idle"]["by_kind"]["journal"] == 1
    changed = s8["k_changes"]
    # Contacts without a user ID travel on `contacts_without_id` (the target's retire signal).
    records = changed["records"]
    assert records["contacts"] + records.get("contacts_without_id", 0) == changed["changes"]["k"]
    assert changed["by_kind"]["files"] >= 1  # the journal named them
    assert s8["every_5_minutes"]["runs"] == 12
    assert s8["account_id_changes"]["records"]["contacts"] > 0  # re-linked, untouched


def test_polling_between_sweeps_re_links_only_re_keyed_companies(
    smoke_result: dict[str, Any],
) -> None:
    s7 = smoke_result["scenarios"]["s7"]
    between, changed = s7["between_sweeps"], s7["reference"]["records_total"]
    records = between["records"]
    assert records["companies"] == between["companies_renamed"] + between["companies_rekeyed"]
    assert between["contacts_of_renamed"] > 0
    emitted = records["contacts"] + records.get("contacts_without_id", 0)
    # The changed contacts and the re-keyed companies' contacts, none of the renamed ones'.
    assert changed < emitted <= changed + between["contacts_linked"]
