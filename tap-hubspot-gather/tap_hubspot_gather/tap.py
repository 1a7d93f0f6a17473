"""The tap: settings schema and stream discovery. Nothing else lives here."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from contextlib import suppress
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.configuration._dict_config import (  # private SDK: no public env reader
    parse_environment_config,
)
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import (  # private SDK: the SDK's own class property
    classproperty,
)
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from hubspot_gather_common.capabilities import SHARED_CAPABILITIES
from tap_hubspot_gather.accounts import COMPANY_ID, AccountIndex
from tap_hubspot_gather.budget import DEFAULT_SEARCHES_PER_SECOND
from tap_hubspot_gather.client import (
    DEFAULT_API_URL,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    HubSpotClient,
    credentials_problem,
)
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.objects import CONTACTS, OBJECTS, CrmObject
from tap_hubspot_gather.output import PageBufferedWriter
from tap_hubspot_gather.paging import DEFAULT_MAX_URL_LENGTH
from tap_hubspot_gather.properties import PropertyDef, fetch_definitions
from tap_hubspot_gather.streams import (
    DEFAULT_LOOKBACK_S,
    DEFAULT_RECONCILE,
    DEFAULT_SEARCH_LAG_S,
    RECONCILE_CHOICES,
)

USER_ID_BUILTINS = CONTACTS.builtin_ids[:1]
# Boolean texts accepted from the environment (singer-sdk's truthy set, plus the falsy ones;
# anything else stays text and fails validation instead of silently meaning false).
TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "off", "0"})
TYPED_KINDS = frozenset({"integer", "number", "boolean"})


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


class TapHubspotGather(Tap):
    """HubSpot companies and contacts for Gather accounts and users."""

    name = "tap-hubspot-gather"
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
            description="HubSpot private app access token (sent as a Bearer token). "
            "Use this or the OAuth settings.",
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
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            description="Allow a plain http:// api_url to non-loopback hosts (not recommended: "
            "the token travels unencrypted; a warning is logged).",
        ),
        th.Property(
            "account_id_property",
            th.StringType,
            default=COMPANY_ID,
            description="Company property holding the Gather account ID, or `companyId` "
            "for HubSpot's company id.",
        ),
        th.Property(
            "user_id_property",
            th.StringType,
            default="vid",
            description="Contact property holding the Gather user ID, or `vid` for "
            "HubSpot's contact id, or `email`.",
        ),
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
            description="List every contact on each incremental run (100 per request) instead "
            "of searching the window, so a contact re-pointed to another company is re-linked "
            "even when HubSpot leaves its modified date alone; the target skips unchanged "
            "records. Off: contacts of changed companies are searched instead (cheaper; a "
            "re-pointed, untouched contact then waits for a reconciliation).",
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
            th.NumberType,
            default=DEFAULT_BACKOFF_MAX_S,
            description="Longest wait between retries when HubSpot gives no Retry-After.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
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

    # Discovery reads the portal's properties with the configured client, so the settings
    # are validated before it too (singer-sdk skips that for static catalogs).
    dynamic_catalog = True

    # private SDK: the credential rule must fail before discovery calls HubSpot; no public hook
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """singer-sdk's schema validation, plus the credential rule the schema cannot express.

        A ConfigValidationError is what singer-sdk's CLI reports as one error line and exit 1
        (no traceback), before discovery and before a sync alike.
        """
        errors = super()._validate_config(raise_errors=raise_errors)
        problem = credentials_problem(self.config)
        if problem is None:
            return errors
        if raise_errors:
            raise ConfigValidationError(problem, errors=[*errors, problem])
        self.logger.warning(problem)
        return [*errors, problem]

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

    # private SDK: `--config ENV` leaves numbers as text; no public hook types env settings
    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:  # noqa: N805 - singer-sdk's class property
        """`--config ENV`: singer-sdk's reader (`.env`, arrays, objects), typed by our schema.

        The SDK leaves numbers as text (`request_timeout=60` then fails validation) and
        crashes on a malformed integer, so typed settings are read as text and typed here.
        """
        schema = cls.settings_schema()
        for name, prop in schema["properties"].items():
            if schema_types(prop) & TYPED_KINDS:
                schema["properties"][name] = {"type": ["string", "null"]}
        prefix = cls._env_var_prefix  # private SDK: the SDK's own env var prefix, no public name
        return cls.typed_settings(parse_environment_config(schema, prefix))

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

    def _key_property(self, obj: CrmObject) -> str:
        """The configured ID property, checked against the portal's properties."""
        setting, object_type, builtins = obj.id_setting, obj.object_type, obj.builtin_ids
        value = str(self.config.get(setting) or builtins[0])
        if value in builtins:
            return value
        by_name = {d.name: d for d in self.definitions[object_type]}
        if value not in by_name:
            msg = (
                f"{setting} is {value!r}, but HubSpot has no {object_type} property of that "
                f"name. Set {setting} to the internal name of the property holding the Gather "
                f"ID (Settings > Properties in HubSpot), or to {' or '.join(builtins)}."
            )
            raise HubSpotError(msg)
        if not by_name[value].has_unique_value:
            self.logger.warning(
                "%s %r is not marked unique in HubSpot: records sharing a value will overwrite "
                "each other in Gather. Consider enforcing unique values on the property.",
                setting,
                value,
            )
        return value

    def discover_streams(self) -> list[Stream]:
        """One stream per declared object, in `OBJECTS` order (companies first: they feed
        the account index)."""
        keys = {obj.stream_name: self._key_property(obj) for obj in OBJECTS}
        account_key = next((keys[o.stream_name] for o in OBJECTS if o.feeds_accounts), COMPANY_ID)
        accounts = AccountIndex(self.client, account_key)
        return [
            obj.stream_class(
                self,
                obj=obj,
                definitions=self.definitions[obj.object_type],
                client=self.client,
                key_property=keys[obj.stream_name],
                accounts=accounts,
            )
            for obj in OBJECTS
        ]


if __name__ == "__main__":
    TapHubspotGather.cli()
