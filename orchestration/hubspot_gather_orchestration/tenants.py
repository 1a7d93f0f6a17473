"""The tenants file: one entry per HubSpot portal synced into one Gather workspace.

Adding a tenant is adding an entry; nothing else changes. Every problem is reported with
the file, the tenant and the field, so a typo in entry 312 of 500 is found at once. Secrets
are never in the file: each is named by the environment variable or the file (a mounted
secret-store path) that holds it, and read only when the tenant's run starts.

    defaults:                      # optional, merged under every tenant
      schedule: "0 * * * *"
    tenants:
      - id: acme
        gather_workspace: acme     # default: the tenant id (per-workspace concurrency)
        account_id_property: app_account_id
        user_id_property: app_user_id
        schedule: "15 * * * *"     # cron; null: no schedule (manual or backfill runs only)
        secrets:
          tap-hubspot-gather:
            access_token: {env: ACME_HUBSPOT_TOKEN}
          target-gather:
            api_key: {file: /run/secrets/acme/gather-api-key}
        tap_settings: {start_date: "2024-01-01"}
        target_settings: {}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TAP = "tap-hubspot-gather"
TARGET = "target-gather"
PLUGINS = (TAP, TARGET)
# Tenant ids name folders, Dagster partitions and Meltano state IDs.
TENANT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# At most 63 characters: Dagster tag values (the workspace is a run tag) allow no more.
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CRON_FIELDS = 5
TENANT_FIELDS = frozenset(
    {
        "id",
        "gather_workspace",
        "account_id_property",
        "user_id_property",
        "schedule",
        "meltano_environment",
        "secrets",
        "tap_settings",
        "target_settings",
    }
)
DEFAULT_FIELDS = TENANT_FIELDS - {"id", "gather_workspace", "secrets"}
# Settings the orchestrator sets itself, per tenant (see meltano_run.TENANT_PATHS).
OWNED_SETTINGS = {
    TAP: frozenset({"account_id_property", "user_id_property"}),
    TARGET: frozenset({"ledger_path", "rejects_path", "summary_path", "left_behind_path"}),
}
DEFAULT_ENVIRONMENT = "prod"


class TenantsFileError(ValueError):
    """The tenants file is missing, not YAML, or an entry is invalid (message says where)."""


@dataclass(frozen=True)
class SecretRef:
    """Where one secret comes from: an environment variable or a file."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        """Where to look, for error messages (never the value)."""
        return f"env var {self.env}" if self.env else f"file {self.file}"


@dataclass(frozen=True)
class Tenant:
    """One portal -> workspace pipeline, as the orchestrator runs it."""

    id: str
    gather_workspace: str
    account_id_property: str | None
    user_id_property: str | None
    schedule: str | None
    meltano_environment: str
    secrets: Mapping[str, Mapping[str, SecretRef]]
    tap_settings: Mapping[str, Any] = field(default_factory=dict)
    target_settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PluginSettings:
    """What the project declares for a plugin: every setting, and the sensitive ones."""

    names: frozenset[str]
    sensitive: frozenset[str]


def _plugin_definition_settings(
    project_dir: Path, kind: str, plugin: Mapping[str, Any]
) -> list[Any]:
    """A plugin's settings as Meltano resolves them: inline in meltano.yml, else its lock file.

    A plugin named by `variant` only (its definition maintained in a Hub-style definition file)
    is defined by `plugins/<kind>/<name>--<variant>.lock`, Meltano's lock-file layout.
    """
    if "settings" in plugin:
        return list(plugin["settings"])
    lock = (
        project_dir
        / "plugins"
        / kind
        / f"{plugin['name']}--{plugin.get('variant', 'original')}.lock"
    )
    if not lock.is_file():
        return []
    return list(json.loads(lock.read_text(encoding="utf-8")).get("settings", []))


def declared_settings(meltano_yml: Path) -> dict[str, PluginSettings]:
    """The tap's and the target's settings as the project declares them (meltano.yml + locks)."""
    project = yaml.safe_load(meltano_yml.read_text(encoding="utf-8")) or {}
    found: dict[str, PluginSettings] = {}
    for kind in ("extractors", "loaders"):
        for plugin in project.get("plugins", {}).get(kind, []):
            if plugin.get("name") in PLUGINS:
                settings = _plugin_definition_settings(meltano_yml.parent, kind, plugin)
                found[plugin["name"]] = PluginSettings(
                    names=frozenset(s["name"] for s in settings),
                    sensitive=frozenset(s["name"] for s in settings if s.get("sensitive")),
                )
    missing = [
        name
        for name in PLUGINS
        if not found.get(name, PluginSettings(frozenset(), frozenset())).names
    ]
    if missing:
        msg = f"{meltano_yml} declares no plugin (or no settings for) {', '.join(missing)}"
        raise TenantsFileError(msg)
    return found


class _Where:
    """Builds error messages that name the file, the tenant and the field."""

    def __init__(self, path: Path, tenant: str) -> None:
        self.path = path
        self.tenant = tenant

    def error(self, field_name: str, problem: str) -> TenantsFileError:
        return TenantsFileError(
            f"{self.path}: tenant {self.tenant}, field {field_name!r}: {problem}"
        )


def _string(where: _Where, name: str, value: Any, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(name, f"must be a non-empty string, got {type(value).__name__}")
    if pattern is not None and not pattern.fullmatch(value):
        raise where.error(name, f"{value!r} must match {pattern.pattern}")
    return value


def _schedule(where: _Where, value: Any) -> str | None:
    if value is None:
        return None
    cron = _string(where, "schedule", value)
    if len(cron.split()) != CRON_FIELDS:
        raise where.error(
            "schedule", f"{cron!r} is not a 5-field cron expression (e.g. '0 * * * *'), or null"
        )
    return cron


def _secret_ref(where: _Where, name: str, value: Any) -> SecretRef:
    if isinstance(value, str):
        # Never echo the value: it may be the secret itself.
        raise where.error(
            name,
            "give where the secret is ({env: VAR_NAME} or {file: /path}), never the secret "
            "itself; the value was not printed",
        )
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("env", "file"):
        raise where.error(name, "must be {env: VAR_NAME} or {file: /path/to/secret}")
    kind, ref = next(iter(value.items()))
    if kind == "env":
        return SecretRef(env=_string(where, f"{name}.env", ref, ENV_NAME))
    return SecretRef(file=Path(_string(where, f"{name}.file", ref)))


def _secrets(
    where: _Where, value: Any, settings: Mapping[str, PluginSettings]
) -> dict[str, dict[str, SecretRef]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error("secrets", f"must map {' / '.join(PLUGINS)} to their secret settings")
    result: dict[str, dict[str, SecretRef]] = {}
    for plugin, refs in value.items():
        if plugin not in PLUGINS:
            raise where.error(f"secrets.{plugin}", f"unknown plugin (use {' or '.join(PLUGINS)})")
        if not isinstance(refs, dict):
            raise where.error(f"secrets.{plugin}", "must map setting names to {env: ...}")
        result[plugin] = {}
        for setting, ref in refs.items():
            name = f"secrets.{plugin}.{setting}"
            if setting not in settings[plugin].sensitive:
                sensitive = ", ".join(sorted(settings[plugin].sensitive))
                raise where.error(name, f"not a sensitive setting of {plugin} (those: {sensitive})")
            result[plugin][setting] = _secret_ref(where, name, ref)
    return result


def _plugin_settings(
    where: _Where, name: str, value: Any, plugin: str, declared: PluginSettings
) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(name, "must be a mapping of setting names to values")
    for setting in value:
        field_name = f"{name}.{setting}"
        if setting not in declared.names:
            raise where.error(field_name, f"{plugin} declares no such setting in meltano.yml")
        if setting in declared.sensitive:
            raise where.error(
                field_name,
                f"is a secret: move it under secrets.{plugin} as {{env: VAR_NAME}}; "
                "the value was not printed",
            )
        if setting in OWNED_SETTINGS[plugin]:
            raise where.error(field_name, "is set by the orchestrator for each tenant")
    return dict(value)


def _tenant(
    path: Path,
    index: int,
    entry: Any,
    defaults: Mapping[str, Any],
    settings: Mapping[str, PluginSettings],
) -> Tenant:
    label = repr(entry["id"]) if isinstance(entry, dict) and "id" in entry else f"#{index + 1}"
    where = _Where(path, label)
    if not isinstance(entry, dict):
        raise where.error("(entry)", "each tenant must be a mapping with at least 'id'")
    unknown = sorted(set(entry) - TENANT_FIELDS)
    if unknown:
        raise where.error(unknown[0], f"unknown field (known: {', '.join(sorted(TENANT_FIELDS))})")
    if "id" not in entry:
        raise where.error("id", "is required")
    merged = {**defaults, **entry}
    tenant_id = _string(where, "id", entry["id"], TENANT_ID)
    tap_settings = {**defaults.get("tap_settings", {}), **(entry.get("tap_settings") or {})}
    target_settings = {
        **defaults.get("target_settings", {}),
        **(entry.get("target_settings") or {}),
    }
    optional = {
        name: None if merged.get(name) is None else _string(where, name, merged[name])
        for name in ("account_id_property", "user_id_property")
    }
    return Tenant(
        id=tenant_id,
        gather_workspace=_string(
            where, "gather_workspace", merged.get("gather_workspace", tenant_id), WORKSPACE_NAME
        ),
        account_id_property=optional["account_id_property"],
        user_id_property=optional["user_id_property"],
        schedule=_schedule(where, merged.get("schedule")),
        meltano_environment=_string(
            where, "meltano_environment", merged.get("meltano_environment", DEFAULT_ENVIRONMENT)
        ),
        secrets=_secrets(where, entry.get("secrets"), settings),
        tap_settings=_plugin_settings(where, "tap_settings", tap_settings, TAP, settings[TAP]),
        target_settings=_plugin_settings(
            where, "target_settings", target_settings, TARGET, settings[TARGET]
        ),
    )


def parse_tenants(data: Any, path: Path, settings: Mapping[str, PluginSettings]) -> list[Tenant]:
    """Validate the parsed YAML of a tenants file; raise `TenantsFileError` naming the spot."""
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), list):
        msg = f"{path}: expected a mapping with a 'tenants' list (and optional 'defaults')"
        raise TenantsFileError(msg)
    unknown = sorted(set(data) - {"tenants", "defaults"})
    if unknown:
        msg = f"{path}: unknown top-level field {unknown[0]!r} (known: defaults, tenants)"
        raise TenantsFileError(msg)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise TenantsFileError(f"{path}: 'defaults' must be a mapping")
    bad_default = sorted(set(defaults) - DEFAULT_FIELDS)
    if bad_default:
        msg = f"{path}: defaults: field {bad_default[0]!r} cannot have a default (allowed: "
        raise TenantsFileError(msg + ", ".join(sorted(DEFAULT_FIELDS)) + ")")
    tenants = [_tenant(path, i, e, defaults, settings) for i, e in enumerate(data["tenants"])]
    seen: set[str] = set()
    for tenant in tenants:
        if tenant.id in seen:
            raise _Where(path, repr(tenant.id)).error("id", "is used by another tenant too")
        seen.add(tenant.id)
    if not tenants:
        raise TenantsFileError(f"{path}: the 'tenants' list is empty")
    return tenants


def load_tenants(path: Path, meltano_yml: Path) -> list[Tenant]:
    """Read and validate a tenants file against the plugins' settings in `meltano_yml`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the tenants file {path}: {exc.strerror}"
        raise TenantsFileError(msg) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the position: PyYAML's own message quotes the line, which may hold a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise TenantsFileError(f"{path} is not valid YAML{where}: {problem}") from None
    return parse_tenants(data, path, declared_settings(meltano_yml))
