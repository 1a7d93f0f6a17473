"""Names shared by the definitions and the health sensor: job, op, pool, asset and run tags."""

from __future__ import annotations

import dagster as dg

JOB_NAME = "hubspot_to_gather"
OP_NAME = "sync_tenant"
SYNC_POOL = "hubspot_gather_sync"
# Materialized once per successful run, partition = tenant: each tenant's sync history.
ASSET_KEY = dg.AssetKey("hubspot_gather_sync")
TENANT_TAG = "tenant"
WORKSPACE_TAG = "gather/workspace"
# Set on a failed run: the kind of failure (failures.FailureKind), for the UI's run filters.
FAILURE_TAG = "hubspot_gather/failure"
