"""Retry and timeout settings given by env var reach the plugins through Meltano.

Production sets them this way (`TARGET_GATHER_BACKOFF_BASE_S`, `TAP_HUBSPOT_GATHER_REQUEST_TIMEOUT`,
...), and so do the orchestrator (every tenant's settings) and the fault tests. Meltano 4 turns a
`kind: decimal` value from the environment into a `Decimal` it then cannot serialize, so these
settings are declared `kind: string` and the plugins accept a number or a number's text.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, MELTANO_ENV, ROOT
from tests.reliability.conftest import private_system_dir

DECIMAL_SETTINGS = {
    "target-gather": {
        "TARGET_GATHER_BACKOFF_BASE_S": ("backoff_base_s", 0.05),
        "TARGET_GATHER_BACKOFF_MAX_S": ("backoff_max_s", 0.5),
        "TARGET_GATHER_REQUEST_TIMEOUT_S": ("request_timeout_s", 2.5),
    },
    "tap-hubspot-gather": {
        "TAP_HUBSPOT_GATHER_BACKOFF_MAX_SECONDS": ("backoff_max_seconds", 0.5),
        "TAP_HUBSPOT_GATHER_REQUEST_TIMEOUT": ("request_timeout", 2.5),
    },
}


@pytest.mark.parametrize("plugin", sorted(DECIMAL_SETTINGS))
def test_fractional_settings_by_env_var_reach_the_plugin(plugin: str, tmp_path: Path) -> None:
    settings = DECIMAL_SETTINGS[plugin]
    env = {
        **os.environ,
        **MELTANO_ENV,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        **private_system_dir(tmp_path),
        **{name: str(value) for name, (_, value) in settings.items()},
    }
    result = subprocess.run(
        [str(BIN / "meltano"), "invoke", "--dump=config", plugin],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    assert result.returncode == 0, errors[-1:] or result.stderr[-1000:]
    config = json.loads(result.stdout[result.stdout.index("{") :])
    for setting, value in settings.values():
        assert float(config[setting]) == value
