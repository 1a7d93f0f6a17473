"""Two tenants sharing one Gather workspace (the tenants file's `gather_workspace`) through
the Dagster job: two HubSpot portals with colliding record ids, keep and mirror. Gather holds
exactly the union both portals imply, and the unchanged portal's second run sends nothing.

Each run is one partition materialized in its own process (`materialize`), as Dagster's run
launcher starts runs; the tenants share the state backend, where the target's durable ledger
lives per workspace, and each keeps its own local ledger and Meltano folders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from emulators.gather.pytest_plugin import GatherEmulator, GatherEmulatorFactory
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.definitions import MeltanoProject, build_definitions
from hubspot_gather_orchestration.tenants import load_tenants
from tests.conftest import BIN, ROOT
from tests.e2e.expected import Mode, gather_problems, without_cleared_links
from tests.e2e.two_portals import (
    ACCOUNT_ID,
    HUB_IDS,
    USER_ID,
    changes_in,
    expected_union,
    seed_portals,
)
from tests.orchestration.conftest import TEST_RETRY, Tenants, materialize

TENANT_IDS = ("us", "eu")
GATHER_KEY = "gather-shared-key"


def write_tenants(
    root: Path, portals: list[HubSpotEmulator], gather: GatherEmulator, mode: str
) -> Path:
    entries = []
    for tenant_id, hubspot in zip(TENANT_IDS, portals, strict=True):
        entries.append(
            {
                "id": tenant_id,
                "gather_workspace": "shared",
                "account_id_property": ACCOUNT_ID,
                "user_id_property": USER_ID,
                "secrets": {
                    "tap-hubspot-gather": {"access_token": {"env": f"{tenant_id.upper()}_TOKEN"}},
                    "target-gather": {"api_key": {"env": "SHARED_GATHER_KEY"}},
                },
                "tap_settings": {"api_url": hubspot.url},
                "target_settings": {
                    "sync_mode": mode,
                    "left_behind_path": str(root / tenant_id / "left-behind.jsonl"),
                },
            }
        )
    document = {
        "defaults": {
            "meltano_environment": "demo",
            "schedule": "0 * * * *",
            "tap_settings": {"search_lag_seconds": 0, "max_retries": 1},
            "target_settings": {"api_url": gather.url, "max_retries": 1},
        },
        "tenants": entries,
    }
    path = root / "tenants.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def portals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[HubSpotEmulator]]:
    started = [HubSpotEmulator.start(hub_id=hub_id) for hub_id in HUB_IDS]
    try:
        for tenant_id, hubspot in zip(TENANT_IDS, started, strict=True):
            hubspot.unlimit()
            token = f"pat-{tenant_id}-token"
            hubspot.add_credentials(tokens=[token])
            monkeypatch.setenv(f"{tenant_id.upper()}_TOKEN", token)
        monkeypatch.setenv("SHARED_GATHER_KEY", GATHER_KEY)
        seed_portals(*started)
        yield started
    finally:
        for hubspot in started:
            hubspot.stop()


def left_behind(root: Path) -> list[dict[str, Any]]:
    lines = []
    for tenant_id in TENANT_IDS:
        path = root / tenant_id / "left-behind.jsonl"
        if path.exists():
            lines += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    return lines


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_two_tenants_share_one_workspace_through_the_dagster_job(
    portals: list[HubSpotEmulator], instance: dg.DagsterInstance, tmp_path: Path, mode: Mode
) -> None:
    factory = GatherEmulatorFactory(tmp_path)
    try:
        gather = factory.start(api_keys=[], workspaces={"shared": [GATHER_KEY]})
        path = write_tenants(tmp_path, portals, gather, mode)
        loaded = load_tenants(path, ROOT / "meltano.yml")
        data_dir = tmp_path / "data"
        meltano = MeltanoProject(
            project_dir=str(ROOT), data_dir=str(data_dir), meltano_bin=str(BIN / "meltano")
        )
        tenants = Tenants(
            path=path,
            good=[],
            bad_id="",
            gather=gather,
            data_dir=data_dir,
            definitions=build_definitions(loaded, meltano, retry_policy=TEST_RETRY),
            tenants=loaded,
        )

        def run(tenant_id: str) -> dict[str, Any]:
            result = materialize(tenants, instance, [tenant_id], slots=1)[tenant_id]
            assert result.success, result.failure
            return result.metadata

        def held() -> tuple[dict[str, Any], dict[str, Any]]:
            return gather.records("account"), without_cleared_links(gather.records("user"))

        for tenant_id in TENANT_IDS:
            run(tenant_id)
        assert gather_problems(expected_union(*portals), held(), "mirror") == []
        assert left_behind(tmp_path) == []

        changes_in(portals[0])
        run("us")
        gather.reset_stats()
        run("eu")

        assert gather.stats()["requests"]["total"] == 0, "the unchanged portal sent nothing"
        lines = left_behind(tmp_path)
        reported = {(str(x["model"]), str(x["id"])) for x in lines}
        problems = gather_problems(expected_union(*portals), held(), mode, reported)
        assert problems == [], "\n".join(problems[:25])
        assert {(x["portal"], x["stream"]) for x in lines} == {(str(HUB_IDS[0]), "contacts")}
        assert len(lines) == 4  # the old key, the cleared ID, two archived contacts
    finally:
        factory.stop_all()
