"""One tenant's sync: `meltano run` in the project, isolated from every other tenant's run.

Isolation, per run:
- state: ``--state-id-suffix=<tenant>``, so the state ID is
  ``<environment>:tap-hubspot-gather-to-target-gather:<tenant>`` and no tenant can read
  another's bookmark, also in a shared state backend;
- files: every per-tenant path derives from one tenant folder (`TENANT_PATHS`); each run
  also gets its own Meltano system folder (``MELTANO_SYS_DIR_ROOT``), because runs started
  together in one project overwrite each other's ``.meltano/run/<plugin>/`` config and
  catalog files; the installed plugin venvs are linked in from the project;
- credentials: read from their env var or file when the run starts and passed only in the
  subprocess's environment (never in the command line, Dagster's run config or a file).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubspot_gather_orchestration.failures import Classified, classify
from hubspot_gather_orchestration.tenants import TAP, TARGET, SecretRef, Tenant

JOB_BLOCKS = (TAP, TARGET)
# Per-tenant files, relative to the tenant's folder, by the target setting's env var. A new
# per-tenant location (e.g. a durable ledger directory) is one more entry here.
TENANT_PATHS = {
    "TARGET_GATHER_LEDGER_PATH": "target/ledger.sqlite3",
    "TARGET_GATHER_REJECTS_PATH": "target/rejects.jsonl",
    "TARGET_GATHER_LEFT_BEHIND_PATH": "target/left-behind.jsonl",
}
SUMMARY_FILE = "summary.json"
LOG_FILE = "meltano.log"
SYSTEM_DIR = "meltano-sys"
# Meltano writes its run logs to platformdirs' user log folder, $XDG_STATE_HOME/meltano/log:
# each run points XDG_STATE_HOME into its own folder, so no tenant's log lands elsewhere.
STATE_HOME_DIR = "xdg-state"
# ... and its caches (the version check's) to $XDG_CACHE_HOME.
CACHE_HOME_DIR = "xdg-cache"
# One machine without a shared backend: the state backend is this folder of the data dir,
# shared by the tenants as a bucket would be (each its own state ID; the target's durable
# ledger, which follows the state backend, one folder per Gather workspace).
LOCAL_STATE_DIR = "state"
# Unless the orchestrator says otherwise: no registry request per run (a network round trip and
# CPU at every start) and no usage stats leaving the machine.
QUIET_MELTANO = {
    "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
}
# Plugin venvs installed by `meltano install`, shared read-only by every run.
SHARED_SYSTEM_FOLDERS = ("extractors", "loaders")
# Meltano's own environment, kept from the orchestrator's process; everything else (above
# all other tenants' secrets) stays out of the subprocess.
PASSED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_DATA_HOME",
    "UV_CACHE_DIR",
    "VIRTUAL_ENV",
)
# AWS_*: the deployment's own access to the shared state backend and durable ledger (an
# s3:// bucket: credentials, region, AWS_ENDPOINT_URL_S3 for S3-compatible storage); they are
# the orchestrator's, never a tenant's.
PASSED_PREFIXES = ("MELTANO_", "AWS_")
# The tap's progress lines carry its client's running request count.
CLIENT_REQUESTS = re.compile(r"tap-hubspot-gather .*client so far: (\d+) requests")
# The reason given for a failed run, first found of: the last exception a plugin raised, the
# last error a plugin logged (target-gather logs "stopped: <why>" without a traceback), a
# plugin's "invalid config" line, Meltano's own last error line ("Block run completed" says
# nothing, so it comes last).
REASON_LINES = (
    re.compile(r"^.*\w(?:Error|Exception): .*$", re.MULTILINE),
    re.compile(r"^.*\[error +\] (?:tap-hubspot-gather|target-gather) .*$", re.MULTILINE),
    re.compile(r"^.*invalid config: .*$", re.MULTILINE),
    re.compile(r"^.*\[error .*$", re.MULTILINE),
)
TAIL_CHARS = 4000
ERROR_CHARS = 500


class TenantRunError(RuntimeError):
    """A tenant's run could not start or `meltano run` failed (message says which and why)."""


@dataclass(frozen=True)
class MeltanoSetup:
    """Where the Meltano project is and where tenant data, state and system DB go."""

    project_dir: Path
    data_dir: Path
    meltano_bin: str = "meltano"
    # None: a `file://` folder under data_dir (one machine); multi-machine: s3://, gs://, ...
    state_backend_uri: str | None = None
    # None: one SQLite system DB per tenant under data_dir; multi-machine: postgresql://...
    database_uri: str | None = None
    timeout_s: float = 6 * 3600.0

    def tenant_dir(self, tenant_id: str) -> Path:
        """The one folder holding everything of one tenant."""
        return self.data_dir / "tenants" / tenant_id

    def local_state_uri(self) -> str:
        """The state backend without a shared one: a folder of the data dir."""
        return (self.data_dir / LOCAL_STATE_DIR).as_uri()


@dataclass
class RunOutcome:
    """What one tenant run did: for Dagster metadata and the benchmark."""

    tenant: str
    started_at: float
    finished_at: float
    returncode: int
    run_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    hubspot_requests: int | None = None
    error: str | None = None
    log_tail: str = ""
    failure: Classified | None = None

    @property
    def duration_s(self) -> float:
        """Wall time of `meltano run`, start-up included."""
        return self.finished_at - self.started_at

    def model_counts(self) -> dict[str, dict[str, int]]:
        """created/updated/unchanged/invalid/rejected/... per Gather model, from the summary."""
        models: dict[str, dict[str, Any]] = self.summary.get("models", {})
        return {
            model: {k: int(v) for k, v in counts.items() if isinstance(v, int)}
            for model, counts in models.items()
        }


def state_id(tenant: Tenant) -> str:
    """The Meltano state ID of a tenant's runs (Meltano builds it from the suffix)."""
    return f"{tenant.meltano_environment}:{TAP}-to-{TARGET}:{tenant.id}"


def _read_secret(tenant: Tenant, plugin: str, setting: str, ref: SecretRef) -> str:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value:
            msg = (
                f"tenant {tenant.id}: {plugin} setting {setting} comes from env var {ref.env}, "
                "which is not set in the orchestrator's environment"
            )
            raise TenantRunError(msg)
        return value
    assert ref.file is not None
    try:
        value = ref.file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        msg = (
            f"tenant {tenant.id}: {plugin} setting {setting} comes from file {ref.file}, "
            f"which cannot be read ({exc.strerror})"
        )
        raise TenantRunError(msg) from exc
    if not value:
        raise TenantRunError(f"tenant {tenant.id}: secret file {ref.file} is empty")
    return value


def setting_env(plugin: str, setting: str) -> str:
    """Meltano's env var for a plugin setting, e.g. ``TARGET_GATHER_API_KEY``."""
    return f"{plugin}_{setting}".upper().replace("-", "_")


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def tenant_env(tenant: Tenant, setup: MeltanoSetup, run_dir: Path) -> dict[str, str]:
    """The whole environment of one tenant's `meltano run` (secrets included)."""
    tenant_dir = setup.tenant_dir(tenant.id)
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith(PASSED_PREFIXES)}
    env["MELTANO_SYS_DIR_ROOT"] = str(run_dir / SYSTEM_DIR)
    env["XDG_STATE_HOME"] = str(run_dir / STATE_HOME_DIR)
    env["XDG_CACHE_HOME"] = str(run_dir / CACHE_HOME_DIR)
    for name, value in QUIET_MELTANO.items():
        env.setdefault(name, value)
    env["MELTANO_STATE_BACKEND_URI"] = setup.state_backend_uri or setup.local_state_uri()
    env["MELTANO_DATABASE_URI"] = setup.database_uri or f"sqlite:///{tenant_dir / 'meltano.db'}"
    for plugin, settings in ((TAP, tenant.tap_settings), (TARGET, tenant.target_settings)):
        for name, value in settings.items():
            env[setting_env(plugin, name)] = _env_value(value)
    if tenant.account_id_property:
        env[setting_env(TAP, "account_id_property")] = tenant.account_id_property
    if tenant.user_id_property:
        env[setting_env(TAP, "user_id_property")] = tenant.user_id_property
    for name, relative in TENANT_PATHS.items():
        env[name] = str(tenant_dir / relative)
    env[setting_env(TARGET, "summary_path")] = str(run_dir / SUMMARY_FILE)
    for plugin, refs in tenant.secrets.items():
        for setting, ref in refs.items():
            env[setting_env(plugin, setting)] = _read_secret(tenant, plugin, setting, ref)
    return env


def _prepare_system_dir(setup: MeltanoSetup, run_dir: Path) -> None:
    system = run_dir / SYSTEM_DIR
    system.mkdir(parents=True)
    installed = setup.project_dir / ".meltano"
    for kind in SHARED_SYSTEM_FOLDERS:
        if not (installed / kind).is_dir():
            msg = f"{installed / kind} is missing: run `meltano install` in {setup.project_dir}"
            raise TenantRunError(msg)
        (system / kind).symlink_to(installed / kind)


def command(tenant: Tenant, setup: MeltanoSetup) -> list[str]:
    """The `meltano run` command line (no secrets on it)."""
    return [
        setup.meltano_bin,
        f"--environment={tenant.meltano_environment}",
        "run",
        # The plugins are installed in the image (`_prepare_system_dir` checks): skipping
        # Meltano's install check saves ~0.2 CPU s per run (bench/idle_run.py).
        "--no-install",
        f"--state-id-suffix={tenant.id}",
        *JOB_BLOCKS,
    ]


def hubspot_requests(log: str) -> int | None:
    """HubSpot requests of the sync: the tap's last running count (None if it logged none)."""
    counts = [int(match.group(1)) for match in CLIENT_REQUESTS.finditer(log)]
    return max(counts) if counts else None


def last_error(log: str) -> str | None:
    """The last exception (else error) line of a run's log, without its timestamp prefix."""
    for pattern in REASON_LINES:
        lines = pattern.findall(log)
        if lines:
            line: str = lines[-1]
            return line.split("] ", 1)[-1].strip()[:ERROR_CHARS]
    return None


def run_tenant(tenant: Tenant, setup: MeltanoSetup, run_name: str) -> RunOutcome:
    """Run one tenant's sync to completion; `RunOutcome.returncode` says whether it worked.

    `run_name` (e.g. the Dagster run id) names the run's folder under the tenant's folder.
    """
    run_dir = setup.tenant_dir(tenant.id) / "runs" / run_name
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a retry of the same Dagster run starts clean
    (setup.tenant_dir(tenant.id) / "target").mkdir(parents=True, exist_ok=True)
    _prepare_system_dir(setup, run_dir)
    env = tenant_env(tenant, setup, run_dir)
    if setup.state_backend_uri is None:
        (setup.data_dir / LOCAL_STATE_DIR).mkdir(parents=True, exist_ok=True)
    started = time.time()
    with (run_dir / LOG_FILE).open("w", encoding="utf-8") as log:
        try:
            result = subprocess.run(  # noqa: S603 (our own command, no shell)
                command(tenant, setup),
                cwd=setup.project_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=setup.timeout_s,
                check=False,
            )
            returncode = result.returncode
        except subprocess.TimeoutExpired:
            returncode = -1
        except FileNotFoundError as exc:
            msg = f"cannot start {setup.meltano_bin!r}: {exc.strerror}; set meltano_bin"
            raise TenantRunError(msg) from exc
    finished = time.time()
    text = (run_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    summary_path = run_dir / SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    return RunOutcome(
        tenant=tenant.id,
        started_at=started,
        finished_at=finished,
        returncode=returncode,
        run_dir=run_dir,
        summary=summary,
        hubspot_requests=hubspot_requests(text),
        error=last_error(text) if returncode != 0 else None,
        log_tail=text[-TAIL_CHARS:],
        failure=classify(text, returncode) if returncode != 0 else None,
    )
