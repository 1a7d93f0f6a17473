"""Every default lives in the settings schema: the client and its retry policy repeat none."""

from __future__ import annotations

import inspect

from target_gather.client import GatherClient, RetryPolicy
from target_gather.factory import Settings, connection, make_client
from target_gather.target import TargetGather

SCHEMA = TargetGather.config_jsonschema
CLIENT_SETTINGS = (
    "max_concurrency",
    "request_timeout_s",
    "max_retries",
    "backoff_base_s",
    "backoff_max_s",
)


def _default(name: str) -> object:
    return SCHEMA["properties"][name]["default"]


def test_the_client_and_retry_policy_take_their_values_from_the_settings() -> None:
    for cls in (GatherClient, RetryPolicy):
        defaulted = [
            name
            for name, parameter in inspect.signature(cls).parameters.items()
            if parameter.default is not inspect.Parameter.empty
        ]
        assert defaulted == [], f"{cls.__name__} repeats defaults of the settings schema"


def test_an_unset_setting_is_the_schema_default_and_a_null_one_too() -> None:
    settings = Settings({"max_retries": None, "max_concurrency": 3}, SCHEMA)
    assert settings.integer("max_retries") == _default("max_retries")
    assert settings.integer("max_concurrency") == 3
    assert settings.get("summary_path") is None  # no default: unset


def test_a_client_built_from_no_settings_has_the_schema_defaults() -> None:
    settings = Settings({"api_key": "k", "api_url": "http://127.0.0.1:1"}, SCHEMA)
    client = make_client(settings, connection(settings))
    try:
        built = {
            "max_concurrency": client.max_concurrency,
            "request_timeout_s": client.timeout,
            "max_retries": client.retry.max_retries,
            "backoff_base_s": client.retry.backoff_base_s,
            "backoff_max_s": client.retry.backoff_max_s,
        }
        assert built == {name: _default(name) for name in CLIENT_SETTINGS}
        assert client.rate is None
    finally:
        client.close()
