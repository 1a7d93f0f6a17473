"""The tap: settings schema and stream discovery. Nothing else lives here."""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping
from contextlib import suppress
from functools import cached_property
from pathlib import Path, PurePath
from typing import Any, ClassVar

from dotenv import dotenv_values, find_dotenv
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from hubspot_gather_common.capabilities import SHARED_CAPABILITIES
from hubspot_gather_common.settings_types import NUMBER_OR_TEXT
from tap_hubspot_gather.account_history import AccountIdHistory
from tap_hubspot_gather.accounts import COMPANY_ID, AccountIndex
from tap_hubspot_gather.auth import OAuthRefresher
from tap_hubspot_gather.budget import DEFAULT_SEARCHES_PER_SECOND
from tap_hubspot_gather.change_feed import (
    CHANGE_CAPTURE_CHOICES,
    DEFAULT_CHANGE_CAPTURE,
    ChangeFeed,
    open_change_feed,
    remembered_portal_id,
)
from tap_hubspot_gather.client import (
    DEFAULT_API_URL,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    HubSpotClient,
    credentials_problem,
)
from tap_hubspot_gather.command_settings import ENV_PREFIX, from_environment
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.objects import OBJECTS, CrmObject
from tap_hubspot_gather.output import PageBufferedWriter
from tap_hubspot_gather.paging import DEFAULT_MAX_URL_LENGTH
from tap_hubspot_gather.properties import PropertyDef, definition_from_schema, fetch_definitions
from tap_hubspot_gather.streams import (
    DEFAULT_LOOKBACK_S,
    DEFAULT_RECONCILE,
    DEFAULT_RELINK_SWEEP_INTERVAL_S,
    DEFAULT_SEARCH_LAG_S,
    RECONCILE_CHOICES,
    CRMStream,
)
from tap_hubspot_gather.versions import ALLOWED_API_VERSIONS, DEFAULT_API_VERSION

NAME = "tap-hubspot-gather"
# Boolean texts accepted from the environment (singer-sdk's truthy set, plus the falsy ones;
# anything else stays text and fails validation instead of silently meaning false).
TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "off", "0"})
TYPED_KINDS = frozenset({"integer", "number", "boolean"})
JSON_KINDS = frozenset({"object", "array"})  # given as JSON text in the environment


def schema_types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON Schema type names a setting allows (`type` string or list, or `anyOf`)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {t for option in schema.get("anyOf") or [] for t in schema_types(option)}


def typed_setting(raw: str, schema: Mapping[str, Any]) -> Any:
    """A setting given as text (an env var) as its schema's type.

    Text that does not parse is returned unchanged, so config validation refuses it naming
    the setting and the type it wants.
    """
    kinds = schema_types(schema)
    text = raw.strip()
    if "boolean" in kinds and text.lower() in TRUE_TEXTS | FALSE_TEXTS:
        return text.lower() in TRUE_TEXTS
    if "integer" in kinds:
        with suppress(ValueError):
            return int(text)
    if "number" in kinds:
        with suppress(ValueError):
            number = float(text)
            if math.isfinite(number):
                return number
    return raw


def id_setting(obj: CrmObject) -> th.Property[Any]:
    """An object's ID setting, from its declaration: a new object needs no schema edit."""
    return th.Property(
        obj.id_setting,
        th.StringType,
        default=obj.hubspot_id_field,
        description=obj.id_setting_description,
    )


class TapHubspotGather(Tap):
    """HubSpot companies and contacts for Gather accounts and users."""

    name = NAME
    message_writer_class = PageBufferedWriter
    # singer-sdk's list without BATCH: records stream page by page with per-page STATE, so
    # `batch_config` would be ignored. ACTIVATE_VERSION ends every complete pass.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ACTIVATE_VERSION,
        *SHARED_CAPABILITIES,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType,
            secret=True,
            description="HubSpot Service Key (recommended for one portal) or legacy private-app "
            "token: the pat-... key, sent as a Bearer token. Use this or the OAuth settings.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            secret=True,
            description="OAuth app client id, with client_secret and refresh_token.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            description="OAuth app client secret.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            secret=True,
            description="OAuth refresh token of the installed app.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of the HubSpot API; the OAuth token URL derives from it. "
            "Plain http:// only for loopback hosts unless allow_insecure_http.",
        ),
        th.Property(
            "api_version",
            th.StringType,
            default=DEFAULT_API_VERSION,
            allowed_values=list(ALLOWED_API_VERSIONS),
            description="HubSpot API version of every CRM call: 2026-09 (current), 2026-03 "
            "(supported), or v3 (legacy /crm/v3 and /crm/v4 paths, unsupported from "
            "2027-03-30). OAuth always uses HubSpot's 2026-03 endpoints.",
        ),
        th.Property(
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            description="Allow a plain http:// api_url to non-loopback hosts (not recommended: "
            "the token travels unencrypted; a warning is logged).",
        ),
        *(id_setting(obj) for obj in OBJECTS),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Only records modified at or after this time are extracted "
            "(first run; later runs continue from their STATE).",
        ),
        th.Property(
            "search_lag_seconds",
            th.IntegerType,
            default=DEFAULT_SEARCH_LAG_S,
            description="Each incremental window ends this many seconds before the sync "
            "started, because HubSpot's search lags writes; later changes wait for the next run.",
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType,
            default=DEFAULT_LOOKBACK_S,
            description="Start each incremental window this many seconds before the previous "
            "window's end, so a change HubSpot's search indexed later than search_lag_seconds "
            "is still read; re-read unchanged records are skipped by the target's ledger.",
        ),
        th.Property(
            "include_archived",
            th.BooleanType,
            default=True,
            description="Also emit records archived (deleted) in HubSpot since the last run, "
            "with `archived: true` and `_sdc_deleted_at`, so the target can delete (mirror) or "
            "report (keep) them and clear links to archived companies. Costs one list request "
            "per 100 archived records (HubSpot keeps them 90 days).",
        ),
        th.Property(
            "relink_sweep",
            th.BooleanType,
            default=True,
            description="Polling: list every contact (100 per request) at most once per "
            "relink_sweep_interval instead of searching the window, so a contact re-pointed to "
            "another company is re-linked even when HubSpot leaves its modified date alone; the "
            "target skips unchanged records. Off: a re-pointed, untouched contact waits for a "
            "reconciliation. Journal mode needs no sweep (association events say which).",
        ),
        th.Property(
            "relink_sweep_interval",
            th.IntegerType,
            default=DEFAULT_RELINK_SWEEP_INTERVAL_S,
            description="Seconds between two relink sweeps (remembered in STATE, so every "
            "runner honours it); incremental runs in between search their window.",
        ),
        th.Property(
            "change_capture",
            th.StringType,
            default=DEFAULT_CHANGE_CAPTURE,
            allowed_values=list(CHANGE_CAPTURE_CHOICES),
            description="How incremental runs learn what changed. `journal`: HubSpot's "
            "Webhooks Journal (the OAuth app's client_id and client_secret mint a "
            "client-credentials token; the tap subscribes the portal itself) and batch reads "
            "of the records it names. `poll`: search each modified-date window. `auto`: the "
            "journal when client_id and client_secret are set, else polling. Without the "
            "app's install or its journal scopes the tap says which and polls.",
        ),
        th.Property(
            "portal_id",
            th.IntegerType,
            description="HubSpot account (portal) id the tap reads (its journal, and the "
            "portal_id every record carries). Unset: the OAuth token answer's hub_id, else "
            "read from HubSpot's account details once and remembered in STATE.",
        ),
        th.Property(
            "reconcile",
            th.StringType,
            default=DEFAULT_RECONCILE,
            allowed_values=list(RECONCILE_CHOICES),
            description="Re-list every live record (list endpoint, 100 per request) and end the "
            "pass with ACTIVATE_VERSION, so the target finds what HubSpot no longer has "
            "(permanent deletes, purged archives). `auto`: when no previous archived pass is "
            "known or it is older than HubSpot's 90-day archive retention; `always`; `never`.",
        ),
        th.Property(
            "fail_on_missing_id",
            th.BooleanType,
            default=False,
            description="Fail on the first record whose ID property is empty, instead of "
            "skipping it and reporting the count and a sample of HubSpot ids at the end.",
        ),
        th.Property(
            "requests_per_10_seconds",
            th.IntegerType,
            description="Ceiling for the client-side 10-second request budget. Unset: start "
            "at 100 (HubSpot's lowest tier) and follow X-HubSpot-RateLimit-Max. Set it lower "
            "to leave room for other apps sharing the portal's limit.",
        ),
        th.Property(
            "searches_per_second",
            th.IntegerType,
            default=DEFAULT_SEARCHES_PER_SECOND,
            description="Client-side limit for search requests (HubSpot allows 5 per second "
            "per account).",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=DEFAULT_MAX_RETRIES,
            description="Retries of one request on 429, 5xx, timeouts and dropped connections "
            "(Retry-After honoured, else exponential backoff with jitter).",
        ),
        th.Property(
            "backoff_max_seconds",
            NUMBER_OR_TEXT,
            default=DEFAULT_BACKOFF_MAX_S,
            description="Longest wait between retries when HubSpot gives no Retry-After.",
        ),
        th.Property(
            "request_timeout",
            NUMBER_OR_TEXT,
            default=DEFAULT_TIMEOUT_S,
            description="Seconds to wait for one HubSpot response before retrying.",
        ),
        th.Property(
            "max_url_length",
            th.IntegerType,
            default=DEFAULT_MAX_URL_LENGTH,
            description="Longest GET URL sent; selected properties beyond it are read with "
            "POST batch/read instead, so many properties never cause a 414.",
        ),
    ).to_dict()

    # Discovery validates the settings first (singer-sdk skips that for static catalogs); with
    # credentials it reads the portal's properties, without them it lists HubSpot's defaults.
    dynamic_catalog = True

    def __init__(
        self,
        *,
        config: dict[str, Any] | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        **kwargs: Any,
    ) -> None:
        """singer-sdk's constructor, with `--config ENV` read by `environment_settings`.

        singer-sdk's own reader leaves numbers as text (`request_timeout=60` then fails
        validation) and crashes on a malformed integer; ours types every setting by the schema.
        """
        if parse_env_config:
            config = {**_config_dict(config), **self.environment_settings()}
            self.logger.info(
                "Settings read from %s* environment variables and .env, typed by the tap "
                "(singer-sdk's own env parsing is skipped).",
                ENV_PREFIX,
            )
        super().__init__(config=config, parse_env_config=False, **kwargs)

    @classmethod
    def environment_settings(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Every setting given as `TAP_HUBSPOT_GATHER_<SETTING>`, typed by the settings schema.

        Read from the environment (default: this process's) and the `.env` file of the working
        directory or its nearest parent (Meltano runs plugins in the project folder); the
        environment wins over `.env`. Object and array settings are JSON text.
        """
        found = find_dotenv(usecwd=True)
        from_file = (
            {k: v for k, v in dotenv_values(found).items() if v is not None} if found else {}
        )
        values = {**from_file, **(os.environ if environ is None else environ)}
        properties = cls.settings_schema()["properties"]
        raw: dict[str, Any] = {}
        for name, text in from_environment(properties, values).items():
            if not schema_types(properties[name]) & JSON_KINDS:
                raw[name] = text
            elif text.strip():
                raw[name] = _json_setting(name, ENV_PREFIX + name.upper(), text)
        return cls.typed_settings(raw)

    @classmethod
    def settings_schema(cls) -> dict[str, Any]:
        """The full settings schema: ours plus singer-sdk's built-in settings."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return schema

    @classmethod
    def typed_settings(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Settings read as text (environment variables) converted by the settings schema.

        The one place env text becomes integers, numbers and booleans, for the tap's
        `--config ENV` and for the check command. An empty value of such a setting is unset.
        """
        properties: Mapping[str, Any] = cls.settings_schema()["properties"]
        typed: dict[str, Any] = {}
        for name, value in raw.items():
            schema = properties.get(name)
            if (
                not isinstance(value, str)
                or schema is None
                or not schema_types(schema) & TYPED_KINDS
            ):
                typed[name] = value
            elif value.strip():
                typed[name] = typed_setting(value, schema)
        return typed

    @property
    def missing_credentials(self) -> str | None:
        """What the credential settings lack (one actionable line), or None when complete."""
        return credentials_problem(self.config)

    def run_discovery(self) -> str:
        """The catalog; without credentials, one warning that it lists HubSpot's defaults."""
        problem = self.missing_credentials
        if problem is not None:
            self.logger.warning(
                "%s Until then the catalog lists HubSpot's default properties (and the "
                "configured ID properties), not the portal's own.",
                problem,
            )
        return super().run_discovery()

    # private SDK: sync_all is final (a typing marker); the one point before a sync's first message
    def sync_all(self) -> None:  # type: ignore[misc]
        """Sync every selected stream; without credentials, stop first with one error line.

        singer-sdk's CLI reports a ConfigValidationError as error lines and exit 1 (no
        traceback), for `--config x.json`, `meltano invoke` and `meltano run` alike.
        """
        problem = self.missing_credentials
        if problem is not None:
            raise ConfigValidationError(problem, errors=[problem])
        super().sync_all()

    @cached_property
    def client(self) -> HubSpotClient:
        """The one HubSpot client of this run, shared by discovery and every stream."""
        return HubSpotClient.from_config(self.config, logger=self.logger)

    @cached_property
    def definitions(self) -> dict[str, list[PropertyDef]]:
        """Property definitions per object type, read once from the properties API."""
        return {
            object_type: fetch_definitions(self.client, object_type)
            for object_type in dict.fromkeys(o.object_type for o in OBJECTS)
        }

    def catalog_definitions(self, obj: CrmObject) -> list[PropertyDef] | None:
        """The object's properties as the input catalog types them, or None when the
        catalog does not carry what the sync needs (no catalog, no entry for the stream, or
        a schema without the ID, modified-date or merged-ids property): then they are read
        from HubSpot.

        A sync builds its converters from the catalog it was given: the catalog is the
        contract of the run (its SCHEMA messages follow it), so reading the definitions
        again costs 2 requests per run for nothing. A property HubSpot added since the
        catalog was discovered appears after the next discovery (Meltano re-discovers when
        the settings change, or with `--refresh-catalog`).
        """
        catalog = self.input_catalog
        entry = catalog.get_stream(obj.stream_name) if catalog is not None else None
        if entry is None:
            return None
        fields = entry.schema.to_dict().get("properties")
        if not isinstance(fields, dict):
            return None
        added = obj.stream_class.record_fields(obj.hubspot_id_field)
        key = self.configured_key(obj)
        needed = {obj.modified_property, *obj.extra_properties}
        if key not in obj.builtin_ids:
            needed.add(key)
        if not needed <= fields.keys():
            return None
        return [
            definition_from_schema(name, schema)
            for name, schema in fields.items()
            if name not in added and isinstance(schema, dict)
        ]

    @cached_property
    def object_definitions(self) -> dict[str, list[PropertyDef]]:
        """Each stream's properties: from the input catalog when it carries them (a sync),
        else from HubSpot (discovery, or a catalog missing something)."""
        out: dict[str, list[PropertyDef]] = {}
        for obj in OBJECTS:
            given = self.catalog_definitions(obj)
            if given is None:
                given = self.definitions[obj.object_type]
            else:
                self.typed_by_catalog.add(obj.stream_name)
            out[obj.stream_name] = given
        if self.typed_by_catalog:
            self.logger.info(
                "Property types of %s taken from the catalog (their definitions not read).",
                ", ".join(sorted(self.typed_by_catalog)),
            )
        return out

    @cached_property
    def typed_by_catalog(self) -> set[str]:
        """The streams whose property types came from the input catalog."""
        return set()

    def _key_property(self, obj: CrmObject) -> str:
        """The configured ID property, checked against the portal's properties."""
        setting, object_type, builtins = obj.id_setting, obj.object_type, obj.builtin_ids
        value = self.configured_key(obj)
        if value in builtins:
            return value
        by_name = {d.name: d for d in self.object_definitions[obj.stream_name]}
        if value not in by_name:
            msg = (
                f"{setting} is {value!r}, but HubSpot has no {object_type} property of that "
                f"name. Set {setting} to the internal name of the property holding the Gather "
                f"ID (Settings > Properties in HubSpot), or to {' or '.join(builtins)}."
            )
            raise HubSpotError(msg)
        # A catalog does not say whether a property is unique: discovery warned already.
        if obj.stream_name not in self.typed_by_catalog and not by_name[value].has_unique_value:
            self.logger.warning(
                "%s %r is not marked unique in HubSpot: records sharing a value will overwrite "
                "each other in Gather. Consider enforcing unique values on the property.",
                setting,
                value,
            )
        return value

    def configured_key(self, obj: CrmObject) -> str:
        """The ID property the object's setting names (its HubSpot id when unset)."""
        return str(self.config.get(obj.id_setting) or obj.hubspot_id_field)

    def default_definitions(self, obj: CrmObject) -> list[PropertyDef]:
        """Without credentials: HubSpot's default properties of the object, plus the configured
        ID property when it is not one of them (a custom property, typed as a string)."""
        definitions = list(obj.default_properties)
        key = self.configured_key(obj)
        if key not in obj.builtin_ids and all(d.name != key for d in definitions):
            definitions.append(PropertyDef(key, "string"))
        return definitions

    @cached_property
    def key_properties(self) -> dict[str, str]:
        """Each stream's key property (checked against the portal's properties when it can be
        read; without credentials, as configured)."""
        if self.missing_credentials is not None:
            return {obj.stream_name: self.configured_key(obj) for obj in OBJECTS}
        return {obj.stream_name: self._key_property(obj) for obj in OBJECTS}

    @cached_property
    def portal_id(self) -> str:
        """The HubSpot portal (hub) id, found once per run: every record carries it, so a
        target keeps each portal's records apart (a record id is unique within its portal
        only). In order: the `portal_id` setting; the OAuth refresh answer's `hub_id` (the
        installing portal, free with the token the run needs anyway); the one remembered in
        STATE; else `GET /account-info/{version}/details` -> `portalId`, read once and then
        remembered in every stream's STATE."""
        configured = self.config.get("portal_id")
        if configured:
            return str(configured)
        auth = self.client.auth
        if isinstance(auth, OAuthRefresher):
            from_token = auth.portal()
            if from_token:
                return self._remember_portal(from_token)
        known = remembered_portal_id(self)
        if known:
            return self._remember_portal(known)
        details = self.client.get(self.client.paths.account_details(), kind="account details")
        portal = details.get("portalId") if isinstance(details, dict) else None
        if isinstance(portal, bool) or not isinstance(portal, (int, str)) or not str(portal):
            msg = (
                "HubSpot's account details named no portalId; the tap cannot tell which portal "
                "it reads. Fix: check api_url points at HubSpot's API."
            )
            raise HubSpotError(msg)
        with suppress(ValueError):
            self._remember_portal(int(portal))
        return str(portal)

    def _remember_portal(self, portal: int) -> str:
        """Keep the portal id in every stream's STATE (written with its next STATE)."""
        for stream in self.crm_streams():
            if stream.selected:
                stream.saved.portal_id = portal
        return str(portal)

    @cached_property
    def accounts(self) -> AccountIndex:
        """Company id -> Gather account ID, fed by the object that `feeds_accounts`."""
        key = next(
            (self.key_properties[o.stream_name] for o in OBJECTS if o.feeds_accounts), COMPANY_ID
        )
        return AccountIndex(self.client, key)

    @cached_property
    def account_history(self) -> AccountIdHistory:
        """When companies' account IDs last changed (polling reads it for modified companies)."""
        return AccountIdHistory(self.client, self.accounts.account_id_property)

    @cached_property
    def change_feed(self) -> ChangeFeed | None:
        """HubSpot's Webhooks Journal for this run, or None when polling (`change_capture`;
        why the journal is not used is logged once)."""
        return open_change_feed(self)

    def crm_streams(self) -> list[CRMStream]:
        """The CRM streams, in `OBJECTS` order (the sync order)."""
        return [s for s in self.streams.values() if isinstance(s, CRMStream)]

    def account_feeder(self) -> CRMStream | None:
        """The stream of the object that `feeds_accounts` (the companies -> contacts
        hand-off goes through it), if it is one of this tap's streams."""
        return next((s for s in self.crm_streams() if s.obj.feeds_accounts), None)

    def account_linker(self) -> CRMStream | None:
        """The stream of the object that `links_accounts` (it takes the hand-off), if any."""
        return next((s for s in self.crm_streams() if s.obj.links_accounts), None)

    def discover_streams(self) -> list[Stream]:
        """One stream per declared object, in `OBJECTS` order (companies first: they feed
        the account index). Without credentials no request is made: HubSpot's default
        properties stand in for the portal's, and the client is never built."""
        static = self.missing_credentials is not None
        return [
            obj.stream_class(
                self,
                obj=obj,
                definitions=(
                    self.default_definitions(obj)
                    if static
                    else self.object_definitions[obj.stream_name]
                ),
                key_property=self.key_properties[obj.stream_name],
            )
            for obj in OBJECTS
        ]


def _config_dict(
    config: dict[str, Any] | PurePath | str | list[PurePath | str] | None,
) -> dict[str, Any]:
    """The settings passed to the constructor as one dict (JSON files read in order)."""
    if config is None or isinstance(config, dict):
        return dict(config or {})
    paths = [config] if isinstance(config, (str, PurePath)) else config
    merged: dict[str, Any] = {}
    for path in paths:
        merged.update(json.loads(Path(path).read_text(encoding="utf-8")))
    return merged


def _json_setting(name: str, variable: str, text: str) -> Any:
    """An object or array setting given as JSON text in the environment."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = (
            f"{name}: {variable} is not valid JSON ({exc.msg}, position {exc.pos}). Give the "
            'setting as JSON text, e.g. \'{"key": "value"}\'.'
        )
        raise ConfigValidationError(msg, errors=[msg]) from None


if __name__ == "__main__":
    TapHubspotGather.cli()
