"""The check proves the credential first (a Service Key: one cheap read per object, missing
scopes named from HubSpot's 403) and warns about an api_version past its Supported window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check.render import report_json_schema, to_json, to_text
from tap_hubspot_gather.check.report import CheckReport, judge
from tap_hubspot_gather.client import TAP_SCOPES
from tap_hubspot_gather.versions import VERSIONS
from tests.check.conftest import CheckRun

JSON = ("--format", "json", "--quiet")
PROBE = "GET /crm/objects/{version}/{object_type}"


def test_a_service_key_with_the_four_scopes_passes_and_is_probed_first(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    hubspot.seed(companies=5, contacts=20)
    key = hubspot.create_service_key(list(TAP_SCOPES))
    assert key.startswith("pat-")

    run = run_check({**settings, "access_token": key}, *JSON)

    assert run.code == 0, run.stderr
    assert run.report["api_version"]["name"] == "2026-09"
    assert run.report["api_version"]["supported"] is True
    jsonschema.validate(run.report, report_json_schema())
    assert key not in run.stdout + run.stderr


def test_missing_scopes_are_named_in_one_line_before_anything_else_is_read(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    key = hubspot.create_service_key(["crm.schemas.contacts.read"])
    hubspot.reset_stats()

    run = run_check({**settings, "access_token": key}, *JSON)

    assert run.code == 2
    assert run.stdout == ""
    [line] = run.stderr.strip().splitlines()
    assert "Service Key" in line
    assert "lacks the scopes crm.objects.companies.read, crm.objects.contacts.read" in line
    assert "Development > Keys > Service keys" in line
    assert key not in line
    routes = hubspot.stats()["routes"]
    assert set(routes) == {PROBE}, routes  # the probes only: no properties, no scan
    assert routes[PROBE] == {"total": 2, "by_status": {"403": 2}}


def test_one_missing_scope_is_named_alone(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    key = hubspot.create_service_key(["crm.objects.contacts.read", "crm.schemas.contacts.read"])
    run = run_check({**settings, "access_token": key}, *JSON)
    assert run.code == 2
    assert "lacks the scope crm.objects.companies.read:" in run.stderr
    assert "crm.objects.contacts.read" not in run.stderr


def test_a_deleted_service_key_says_to_copy_the_key_again(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    key = hubspot.create_service_key(list(TAP_SCOPES))
    hubspot.delete_service_key(key)

    run = run_check({**settings, "access_token": key}, *JSON)

    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert "HTTP 401" in line
    assert "Service Key" in line
    assert "set access_token" in line
    assert key not in line


@pytest.mark.parametrize(
    ("name", "today", "warned"),
    [
        ("2026-03", dt.date(2026, 12, 7), False),
        ("2026-03", dt.date(2027, 9, 29), False),
        ("2026-03", dt.date(2027, 9, 30), True),
        ("2026-09", dt.date(2028, 3, 8), True),
        ("v3", dt.date(2027, 3, 30), True),
    ],
)
def test_a_version_past_its_supported_window_is_a_warning(
    name: str, today: dt.date, warned: bool
) -> None:
    report = judge(CheckReport(api_url="x", objects=[], api_version=VERSIONS[name], today=today))
    problems = [p for p in report.problems if p.code == "api_version_unsupported"]
    assert bool(problems) is warned
    assert report.ready  # a warning: the sync still works (--strict would count it)
    if warned:
        [problem] = problems
        assert problem.severity == "warning"
        assert problem.object_type == "api"
        assert f"api_version {name} is past HubSpot's Supported window" in problem.message
        assert "Set api_version to 2026-09" in problem.fix
        assert "[warning] api: api_version" in to_text(report)
        assert report.verdict.endswith("; 1 warning.")
        document = to_json(report)
        assert document["api_version"]["supported"] is False
        schema = report_json_schema()["properties"]  # the parts this report fills
        jsonschema.validate(document["api_version"], schema["api_version"])
        jsonschema.validate(document["problems"], schema["problems"])


def test_strict_counts_an_unsupported_version() -> None:
    report = judge(
        CheckReport(
            api_url="x",
            objects=[],
            strict=True,
            api_version=VERSIONS["2026-03"],
            today=dt.date(2028, 1, 1),
        )
    )
    assert not report.ready
    assert "api api version unsupported" in report.verdict


def test_an_unknown_api_version_cannot_check_and_names_the_allowed_values(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    run = run_check({**settings, "api_version": "2025-09"}, *JSON)
    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert "api_version" in line
    assert "'2026-09', '2026-03', 'v3'" in line
    assert hubspot.stats()["total"] == 0
