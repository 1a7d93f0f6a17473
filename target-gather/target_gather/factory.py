"""Target construction: the settings (with the schema's defaults) -> client, ledger, services.

Every default lives in the settings schema (`TargetGather.config_jsonschema`); `Settings` reads
a setting by name and falls back to the schema's default, so no literal default is repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from target_gather.client import GatherClient, GatherError, RetryPolicy, check_url
from target_gather.guard import DeleteCap
from target_gather.identity import IdentityMap
from target_gather.ledger import Ledger, sole_workspace, workspace_key
from target_gather.mapping import MappingError, parse_mappings
from target_gather.report import LeftBehindWriter, RejectsWriter, RunSummary
from target_gather.sinks import Services

MIRROR = "mirror"


class Settings:
    """The target's config, each setting defaulting to its default in the settings schema."""

    def __init__(self, config: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
        defaults = {
            name: prop["default"]
            for name, prop in schema.get("properties", {}).items()
            if "default" in prop
        }
        given = {name: value for name, value in config.items() if value is not None}
        self._values: dict[str, Any] = {**defaults, **given}

    def get(self, name: str) -> Any:
        """The value, the schema's default, or None."""
        return self._values.get(name)

    def flag(self, name: str) -> bool:
        return bool(self._values.get(name, False))

    def text(self, name: str) -> str:
        return str(self._values.get(name) or "")

    def integer(self, name: str) -> int:
        return int(self._values[name])

    def number(self, name: str) -> float:
        return float(self._values[name])


@dataclass(frozen=True)
class Connection:
    """Where the target writes: Gather's URL, the key, and the ledger's workspace."""

    api_url: str
    api_key: str
    workspace: str
    ledger_path: Path


def connection(settings: Settings) -> Connection:
    """The checked URL and key; a bad URL or a missing key stops the run before any input."""
    try:
        api_url = check_url(
            settings.text("api_url"), allow_insecure_http=settings.flag("allow_insecure_http")
        )
    except GatherError as exc:
        msg = f"invalid config: {exc}"
        raise GatherError(msg) from None
    api_key = settings.text("api_key")
    if not api_key and not settings.flag("dry_run"):
        msg = (
            "invalid config: api_key is not set. Fix: set TARGET_GATHER_API_KEY (or "
            "api_key), or use dry_run."
        )
        raise GatherError(msg)
    ledger_path = Path(settings.text("ledger_path"))
    workspace = workspace_key(api_url, api_key)
    if not api_key:  # dry run without a key: diff against the workspace, if only one
        workspace = sole_workspace(ledger_path, api_url) or workspace
    return Connection(api_url, api_key, workspace, ledger_path)


def checkpoint_records(settings: Settings) -> int:
    """`checkpoint_every_records`, bounded by the SDK's `batch_size_rows` when that is set."""
    every = settings.integer("checkpoint_every_records")
    if settings.get("batch_size_rows"):
        every = min(every, int(settings.get("batch_size_rows")))
    return max(1, every)


def make_client(settings: Settings, conn: Connection) -> GatherClient:
    """The Gather client the settings describe."""
    rate = settings.get("max_requests_per_second")
    return GatherClient(
        conn.api_url,
        conn.api_key,
        max_concurrency=settings.integer("max_concurrency"),
        max_requests_per_second=None if rate is None else float(rate),
        request_timeout_s=settings.number("request_timeout_s"),
        retry=RetryPolicy(
            max_retries=settings.integer("max_retries"),
            backoff_base_s=settings.number("backoff_base_s"),
            backoff_max_s=settings.number("backoff_max_s"),
        ),
    )


def build(
    settings: Settings,
    *,
    client: Callable[[Connection], Callable[[], GatherClient]],
    redact: Callable[[str], str],
) -> tuple[Connection, Services]:
    """Check the settings (mappings, URL, key), then build what every sink shares.

    `client` receives the checked connection and returns the (lazy) client getter.
    """
    try:
        specs = parse_mappings(settings.get("mappings"))
    except MappingError as exc:
        msg = f"invalid config: {exc}"
        raise GatherError(msg) from None
    conn = connection(settings)
    dry_run = settings.flag("dry_run")
    ledger = Ledger(conn.ledger_path, conn.workspace, read_only=dry_run)
    mirror = settings.get("sync_mode") == MIRROR or settings.flag("delete_records")
    services = Services(
        specs=specs,
        client=client(conn),
        ledger=ledger,
        rejects=RejectsWriter(
            Path(settings.text("rejects_path")),
            include_payload=settings.flag("rejects_include_payload"),
            redact=redact,
        ),
        summary=RunSummary(dry_run=dry_run, sync_mode=MIRROR if mirror else "keep"),
        null_policy="clear" if settings.get("null_policy") == "clear" else "omit",
        payload_format=settings.text("payload_format"),
        dry_run=dry_run,
        full_resync=settings.flag("full_resync"),
        delete_records=mirror,
        identity=IdentityMap(ledger),
        left_behind=LeftBehindWriter(Path(settings.text("left_behind_path"))),
        delete_cap=DeleteCap(
            settings.number("delete_cap_percent"), settings.text("confirm_deletes")
        ),
    )
    return conn, services
