"""Runtime switches of the Gather emulator, changed through ``PUT /_emulator/config``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from emulators.common import settings as typed
from emulators.gather.validation import RecordRules


class ConfigError(ValueError):
    """A config update names an unknown key or has a value of the wrong type."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour switches; every one is an emulator extension, none is Gather's.

    - ``require_traits_on_update``: also require the model's required traits when the
      record already exists (default False: a partial update keeps the stored values,
      which is the documented merge semantics).
    - ``strict_email``: answer 400 for a user ``email`` without the shape ``a@b.c``.
    - ``rate_limit_per_s`` / ``rate_limit_burst``: a token bucket over all API requests;
      beyond it, 429 with ``Retry-After``. None disables it (Gather documents no limit).
    - ``latency_s``: added before every API request is handled.
    - ``known_models``: when a list, other model ids answer 404 (like an id never created
      in Gather's UI); None accepts any model id.
    - ``permission_denied``: every authenticated API request answers 403, like a key whose
      role lost API access.
    """

    require_traits_on_update: bool = False
    strict_email: bool = False
    rate_limit_per_s: float | None = None
    rate_limit_burst: int | None = None
    latency_s: float = 0.0
    known_models: tuple[str, ...] | None = None
    permission_denied: bool = False

    def rules(self) -> RecordRules:
        """The switches validation needs."""
        return RecordRules(
            require_traits_on_update=self.require_traits_on_update,
            strict_email=self.strict_email,
        )

    def to_json(self) -> dict[str, Any]:
        """The config as the admin API shows it."""
        return typed.settings_json(self)

    def updated(self, payload: Any) -> EmulatorConfig:
        """A copy with the keys of `payload` changed; other keys keep their values."""
        return replace(self, **READER.changes(payload))


def _model_ids(value: Any) -> bool:
    return typed.is_string_list(value) and all(value)


# What each key accepts, in the order its problems are reported.
READER = typed.SettingsReader(
    EmulatorConfig,
    {
        "require_traits_on_update": typed.BOOLEAN,
        "strict_email": typed.BOOLEAN,
        "rate_limit_per_s": typed.Setting(
            (
                typed.Check(typed.is_non_negative, "a number >= 0"),
                typed.Check(lambda v: v > 0, "> 0 (use null to disable the limit)"),
            ),
            nullable=True,
            convert=float,
        ),
        "rate_limit_burst": typed.Setting.of(
            typed.integer_from(1), "null or an integer >= 1", nullable=True
        ),
        "latency_s": typed.Setting.of(typed.is_non_negative, "a number >= 0", convert=float),
        "known_models": typed.Setting.of(
            _model_ids, "null or a list of model ids", nullable=True, convert=tuple
        ),
        "permission_denied": typed.BOOLEAN,
    },
    ConfigError,
    not_an_object='send the config as a JSON object, e.g. {"rate_limit_per_s": 50}',
    unknown_keys="unknown config keys: {unknown} (known: {known})",
)
