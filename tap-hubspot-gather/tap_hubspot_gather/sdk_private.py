"""The non-public singer-sdk names the tap overrides or touches and why.

How they are declared and checked: `hubspot_gather_common.sdk_contract`. Each use site carries
a one-line `# private SDK: why` comment.
"""

from __future__ import annotations

from hubspot_gather_common.sdk_contract import PrivateUse

_PLUGIN = "singer_sdk.plugin_base.PluginBase"
_STREAM = "singer_sdk.streams.core.Stream"

PRIVATE_SDK_USES: tuple[PrivateUse, ...] = (
    PrivateUse(
        "singer_sdk.configuration",
        "_dict_config",
        None,
        "`--config ENV` reading (.env, arrays, objects) as the SDK does it; no public reader",
    ),
    PrivateUse(
        "singer_sdk.helpers",
        "_classproperty",
        None,
        "`_env_var_config` is a class property in the SDK; the override must be one too",
    ),
    PrivateUse(
        _PLUGIN,
        "_env_var_config",
        None,
        "`--config ENV` leaves numbers as text; no public hook types env settings",
    ),
    PrivateUse(
        _PLUGIN,
        "_env_var_prefix",
        None,
        "the SDK's env var prefix (TAP_HUBSPOT_GATHER_), so `--config ENV` reads the same names",
    ),
    PrivateUse(
        _PLUGIN,
        "_validate_config",
        ("self", "raise_errors"),
        "the credential rule must fail before discovery (which calls HubSpot); no public hook",
    ),
    PrivateUse(
        _STREAM,
        "_generate_record_messages",
        ("self", "record"),
        "speed: skips the SDK's per-record walk of the whole schema (bench scenario 1)",
    ),
    PrivateUse(
        _STREAM,
        "_increment_stream_state",
        ("self", "latest_record", "context"),
        "state is checkpointed per page; no public way to turn off the per-record bookmark",
    ),
    PrivateUse(
        _STREAM,
        "_write_starting_replication_value",
        ("self", "context"),
        "the window start lives in our own state; no public way to keep the SDK's out",
    ),
)
