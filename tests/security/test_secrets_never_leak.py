"""Recognizable secrets through the whole pipeline at debug level: no token, client secret,
refresh token, issued access token or API key in any output (logs, STATE in the state
backend, error messages, rejects file, run summaries, ledger, Meltano's own files)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline
from tests.reliability.conftest import FAST_RETRY_ENV, private_system_dir, run_allowing_failure

HUBSPOT_TOKEN = "pat-na1-LEAKCHECK-hubspot-token-8c1f2e"
CLIENT_ID = "LEAKCHECK-client-id-5d2a"
CLIENT_SECRET = "LEAKCHECK-client-secret-9b7e"
REFRESH_TOKEN = "LEAKCHECK-refresh-token-3f6c"
GATHER_KEY = "LEAKCHECK-gather-api-key-1a4d"
WRONG_HUBSPOT_TOKEN = "pat-na1-LEAKCHECK-revoked-token-0e0e"
WRONG_GATHER_KEY = "LEAKCHECK-revoked-gather-key-7777"
SECRETS = [
    HUBSPOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    GATHER_KEY,
    WRONG_HUBSPOT_TOKEN,
    WRONG_GATHER_KEY,
]
# Access tokens the HubSpot emulator issues on refresh ("CN" + 64 URL-safe characters).
ISSUED_TOKEN = re.compile(rb"CN[A-Za-z0-9_-]{60,}")
DEBUG = {"LOGLEVEL": "DEBUG", "MELTANO_CLI_LOG_LEVEL": "debug"}
FAULTS_HUBSPOT = [
    {"path": "^/crm/objects/", "status": 429, "skip": 1, "times": 1},
    {"path": "^/crm/objects/", "status": 503, "skip": 2, "times": 1},
    {"path": "^/crm/objects/", "action": "drop", "skip": 3, "times": 1},
]
FAULTS_GATHER = [
    {"path": "^/models/", "status": 429, "retry_after": "0", "skip": 3, "times": 1},
    {"path": "^/models/", "status": 500, "skip": 5, "times": 1},
    {"path": "^/models/", "action": "drop", "skip": 7, "times": 1},
]


@pytest.fixture
def secret_pipeline(
    hubspot_emulator: Any, gather_emulator_factory: Any, tmp_path: Path
) -> Pipeline:
    hubspot_emulator.unlimit()
    hubspot_emulator.add_credentials(
        tokens=[HUBSPOT_TOKEN], oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}"]
    )
    gather = gather_emulator_factory.start(api_keys=[GATHER_KEY])
    return Pipeline(
        hubspot=hubspot_emulator,
        gather=gather,
        workdir=tmp_path,
        extra_env={
            **FAST_RETRY_ENV,
            **private_system_dir(tmp_path),
            **DEBUG,
            "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": HUBSPOT_TOKEN,
            "TARGET_GATHER_REJECTS_INCLUDE_PAYLOAD": "true",
        },
    )


def leaks(text: bytes) -> list[str]:
    found = [secret for secret in SECRETS if secret.encode() in text]
    found += [m.decode()[:8] + "..." for m in ISSUED_TOKEN.findall(text)]
    return found


@pytest.mark.e2e
@pytest.mark.slow
def test_no_secret_reaches_any_output_even_at_debug_level(secret_pipeline: Pipeline) -> None:
    pipeline = secret_pipeline
    pipeline.hubspot.seed(companies=15, contacts=120, seed=9)
    outputs: dict[str, str] = {}

    # 1. Private-app token, faults on both sides (retry and error paths log).
    pipeline.hubspot.set_faults(FAULTS_HUBSPOT)
    pipeline.gather.set_faults(FAULTS_GATHER)
    first = pipeline.run()
    outputs["run 1"] = first.stdout + first.stderr
    assert "DEBUG" in first.stderr.upper() or "debug" in first.stderr

    # 2. OAuth, tokens expiring mid-sync, changes to sync.
    pipeline.hubspot.clear_faults()
    pipeline.gather.clear_faults()
    for contact in pipeline.hubspot.dump("contacts")[:30]:
        pipeline.hubspot.update("contacts", contact["id"], {"city": "Oslo"})
    pipeline.hubspot.expire_tokens()
    oauth = {
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_CLIENT_ID": CLIENT_ID,
        "TAP_HUBSPOT_GATHER_CLIENT_SECRET": CLIENT_SECRET,
        "TAP_HUBSPOT_GATHER_REFRESH_TOKEN": REFRESH_TOKEN,
    }
    second = pipeline.run(**oauth)
    outputs["run 2 (oauth)"] = second.stdout + second.stderr

    # 3. Refused credentials: the error messages name the setting, never the value.
    syncable = next(iter(pipeline.expected()[1]))
    contact = next(
        c
        for c in pipeline.hubspot.dump("contacts")
        if c["properties"].get("gather_user_id") == syncable
    )
    pipeline.hubspot.update("contacts", contact["id"], {"city": "Bergen"})
    bad_hubspot = run_allowing_failure(
        pipeline, TAP_HUBSPOT_GATHER_ACCESS_TOKEN=WRONG_HUBSPOT_TOKEN
    )
    bad_gather = run_allowing_failure(pipeline, TARGET_GATHER_API_KEY=WRONG_GATHER_KEY)
    assert bad_hubspot.returncode != 0
    assert bad_gather.returncode != 0
    assert "access_token" in bad_hubspot.stderr
    assert "api_key" in bad_gather.stderr or "API key" in bad_gather.stderr
    outputs["refused hubspot token"] = bad_hubspot.stdout + bad_hubspot.stderr
    outputs["refused gather key"] = bad_gather.stdout + bad_gather.stderr

    recovered = pipeline.run()
    outputs["recovery run"] = recovered.stdout + recovered.stderr
    assert pipeline.held() == pipeline.expected()
    for name, text in outputs.items():
        assert not leaks(text.encode()), f"secret in the output of {name}: {leaks(text.encode())}"
    files = [p for p in pipeline.workdir.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in files}
    assert "state.json" in names
    assert "rejects.jsonl" in names
    assert "ledger.sqlite3" in names
    assert any(n.startswith("summary-") for n in names)
    assert (pipeline.workdir / "rejects.jsonl").read_text(encoding="utf-8").strip()
    for path in files:
        found = leaks(path.read_bytes())
        assert not found, f"secret in {path.relative_to(pipeline.workdir)}: {found}"
