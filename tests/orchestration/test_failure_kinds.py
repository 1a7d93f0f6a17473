"""Each permanent failure, made real against the emulators, is classified as such (never
retried); the log line that shows it is the plugin's own message.

The Dagster side (no retry, the run's tag, the metadata) is in `test_tenant_runs.py`; here one
`meltano run` per kind, without Dagster, on a tiny portal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.failures import FailureKind
from hubspot_gather_orchestration.meltano_run import MeltanoSetup, run_tenant
from tests.conftest import BIN, ROOT
from tests.orchestration.conftest import demo_tenant, gather_with_workspaces, seeded_portal

pytestmark = [pytest.mark.meltano]
TOKEN = "pat-kinds-token"
GATHER_KEY = "gather-kinds-key"


@pytest.fixture(scope="module")
def portal() -> Iterator[HubSpotEmulator]:
    with seeded_portal(TOKEN, companies=2, contacts=4, seed=5) as hubspot:
        yield hubspot


@pytest.fixture(scope="module")
def gather(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatherEmulator]:
    workspaces = {"ws-kinds": [GATHER_KEY]}
    with gather_with_workspaces(tmp_path_factory.mktemp("gather"), workspaces) as emulator:
        yield emulator


CASES = [
    ("revoked token", FailureKind.AUTHENTICATION, "HTTP 401"),
    ("wrong Gather key", FailureKind.AUTHENTICATION, "refused the API key"),
    ("missing scope", FailureKind.AUTHORIZATION, "lacks a scope"),
    ("invalid setting", FailureKind.INVALID_SETTINGS, "invalid config: api_url"),
    ("unknown ID property", FailureKind.UNKNOWN_ID_PROPERTY, "no_such_property"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_permanent_failure_is_classified_and_not_retryable(
    case: tuple[str, FailureKind, str],
    portal: HubSpotEmulator,
    gather: GatherEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, kind, evidence = case
    token = "pat-revoked-kinds-token" if name == "revoked token" else TOKEN
    gather_key = "gather-wrong-key" if name == "wrong Gather key" else GATHER_KEY
    tenant = demo_tenant(
        monkeypatch,
        "kinds",
        "ws-kinds",
        (token, gather_key),
        tap_settings={"api_url": portal.url, "max_retries": 1},
        target_settings={"api_url": gather.url, "max_retries": 1},
    )
    if name == "missing scope":
        portal.set_faults([{"status": 403, "times": None, "path": "/crm/.*"}])
    elif name == "invalid setting":
        tenant = replace(
            tenant, target_settings={**tenant.target_settings, "api_url": "ftp://gather.example"}
        )
    elif name == "unknown ID property":
        tenant = replace(tenant, account_id_property="no_such_property")
    setup = MeltanoSetup(ROOT, tmp_path, str(BIN / "meltano"))
    try:
        outcome = run_tenant(tenant, setup, "run-1")
    finally:
        portal.clear_faults()

    assert outcome.returncode != 0
    assert outcome.failure is not None
    assert outcome.failure.kind is kind
    assert not outcome.failure.kind.retryable
    assert outcome.failure.evidence is not None
    assert evidence in outcome.failure.evidence
    assert outcome.error is not None
    assert "Block run completed" not in outcome.error  # the plugin's reason, not Meltano's
    assert TOKEN not in outcome.log_tail
    assert GATHER_KEY not in outcome.log_tail
