"""The definitions Dagster loads in a deployment.

    dagster dev -m hubspot_gather_orchestration.deployment

Configured by environment variables, so one image serves every machine:

- ``HUBSPOT_GATHER_TENANTS_FILE`` (required): the tenants file;
- ``HUBSPOT_GATHER_PROJECT_DIR``: the Meltano project with the plugins installed (default: cwd);
- ``HUBSPOT_GATHER_DATA_DIR``: tenant folders, local state (default: ``output/orchestration``
  in the project);
- ``HUBSPOT_GATHER_MELTANO_BIN``: the `meltano` executable (default: ``meltano`` on PATH);
- ``HUBSPOT_GATHER_STATE_BACKEND_URI``, ``HUBSPOT_GATHER_DATABASE_URI``: Meltano's state backend
  and system database shared by all machines (read at run time, never stored by Dagster).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from hubspot_gather_orchestration.definitions import MeltanoProject, build_definitions
from hubspot_gather_orchestration.tenants import load_tenants

TENANTS_FILE_ENV = "HUBSPOT_GATHER_TENANTS_FILE"


def _optional_env(name: str) -> str | None:
    # EnvVar keeps the value out of Dagster's stored resource config.
    return dg.EnvVar(name) if os.environ.get(name) else None


def load_definitions() -> dg.Definitions:
    """Build the definitions from the environment (see the module docstring)."""
    tenants_file = os.environ.get(TENANTS_FILE_ENV)
    if not tenants_file:
        msg = f"set {TENANTS_FILE_ENV} to the tenants file (see orchestration/README.md)"
        raise RuntimeError(msg)
    project_dir = Path(os.environ.get("HUBSPOT_GATHER_PROJECT_DIR", Path.cwd())).resolve()
    data_dir = os.environ.get(
        "HUBSPOT_GATHER_DATA_DIR", str(project_dir / "output" / "orchestration")
    )
    meltano = MeltanoProject(
        project_dir=str(project_dir),
        data_dir=data_dir,
        meltano_bin=os.environ.get("HUBSPOT_GATHER_MELTANO_BIN", "meltano"),
        state_backend_uri=_optional_env("HUBSPOT_GATHER_STATE_BACKEND_URI"),
        database_uri=_optional_env("HUBSPOT_GATHER_DATABASE_URI"),
    )
    tenants = load_tenants(Path(tenants_file), project_dir / "meltano.yml")
    return build_definitions(tenants, meltano)


defs = load_definitions()
