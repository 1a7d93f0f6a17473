"""The typed settings reader both emulators' run-time settings stand on: what it accepts, how
it stores it and the exact messages the admin APIs answer with (the journal's
`PUT /_emulator/journal/settings` and the Gather emulator's `PUT /_emulator/config`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from emulators.common.settings import BOOLEAN, SettingsReader
from emulators.gather.config import ConfigError, EmulatorConfig
from emulators.hubspot.journal_settings import JournalSettings, JournalSettingsError

JOURNAL_KEYS = (
    "app_installed, duplicate_events, error_status, file_max_events, merge_deletes, "
    "retention_days, shuffle_events, shuffle_seed, url_lifetime_s, visibility_delay_s, "
    "withheld_scopes"
)
GATHER_KEYS = (
    "known_models, latency_s, permission_denied, rate_limit_burst, rate_limit_per_s, "
    "require_traits_on_update, strict_email"
)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1], "send a JSON object of journal settings"),
        ({"nope": 1, "also": 2}, f"unknown journal settings: also, nope; known: {JOURNAL_KEYS}"),
        ({"retention_days": -1}, "retention_days must be a non-negative number"),
        ({"url_lifetime_s": True}, "url_lifetime_s must be a non-negative number"),
        ({"shuffle_events": 1}, "shuffle_events must be true or false"),
        ({"file_max_events": 0}, "file_max_events must be an integer >= 1"),
        ({"shuffle_seed": 1.5}, "shuffle_seed must be an integer >= 0"),
        ({"error_status": 404}, "error_status must be null or one of 500, 502, 503, 504, 524"),
        ({"withheld_scopes": "a"}, "withheld_scopes must be a list of scope names"),
        (
            {"withheld_scopes": [1], "shuffle_events": 1, "retention_days": "3"},
            "retention_days must be a non-negative number; shuffle_events must be true or "
            "false; withheld_scopes must be a list of scope names",
        ),
    ],
)
def test_journal_settings_refuse_with_the_key_and_what_it_must_be(
    payload: Any, message: str
) -> None:
    settings = JournalSettings()
    with pytest.raises(JournalSettingsError) as refused:
        settings.update(payload)
    assert str(refused.value) == message
    assert settings == JournalSettings()  # nothing of a refused payload is applied


def test_journal_settings_apply_only_the_keys_given() -> None:
    settings = JournalSettings(shuffle_seed=4)
    settings.update({"retention_days": 2, "error_status": 503, "withheld_scopes": ["x"]})
    settings.update({"error_status": None})
    assert settings.to_json() == {
        **JournalSettings().to_json(),
        "retention_days": 2,
        "shuffle_seed": 4,
        "withheld_scopes": ["x"],
    }
    settings.validate()
    settings.file_max_events = 0
    with pytest.raises(JournalSettingsError, match=r"^file_max_events must be an integer >= 1$"):
        settings.validate()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1], 'send the config as a JSON object, e.g. {"rate_limit_per_s": 50}'),
        ({"rate_limit": 5}, f"unknown config keys: rate_limit (known: {GATHER_KEYS})"),
        ({"strict_email": "yes"}, "strict_email must be true or false"),
        ({"latency_s": -1}, "latency_s must be a number >= 0"),
        ({"rate_limit_per_s": False}, "rate_limit_per_s must be a number >= 0"),
        ({"rate_limit_per_s": 0}, "rate_limit_per_s must be > 0 (use null to disable the limit)"),
        ({"rate_limit_burst": 0}, "rate_limit_burst must be null or an integer >= 1"),
        ({"known_models": ["a", ""]}, "known_models must be null or a list of model ids"),
    ],
)
def test_gather_config_refuses_with_the_key_and_what_it_must_be(payload: Any, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        EmulatorConfig().updated(payload)
    assert str(refused.value) == message


def test_gather_config_stores_numbers_as_floats_and_models_as_a_tuple() -> None:
    config = EmulatorConfig(strict_email=True).updated(
        {"rate_limit_per_s": 5, "latency_s": 0, "known_models": ["user"], "rate_limit_burst": 2}
    )
    assert config == EmulatorConfig(
        strict_email=True,
        rate_limit_per_s=5.0,
        rate_limit_burst=2,
        latency_s=0.0,
        known_models=("user",),
    )
    assert isinstance(config.rate_limit_per_s, float)
    assert config.to_json()["known_models"] == ["user"]
    assert config.updated({"rate_limit_per_s": None, "known_models": None}).to_json() == {
        **config.to_json(),
        "rate_limit_per_s": None,
        "known_models": None,
    }


def test_a_reader_must_cover_exactly_the_fields_of_its_class() -> None:
    @dataclass
    class Two:
        one: bool = False
        two: bool = False

    with pytest.raises(TypeError, match="Two: settings do not match its fields"):
        SettingsReader(Two, {"one": BOOLEAN}, ValueError, not_an_object="", unknown_keys="")
