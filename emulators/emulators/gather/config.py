"""Runtime switches of the Gather emulator, changed through ``PUT /_emulator/config``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

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
        data = asdict(self)
        if self.known_models is not None:
            data["known_models"] = list(self.known_models)
        return data

    def updated(self, payload: Any) -> EmulatorConfig:
        """A copy with the keys of `payload` changed; other keys keep their values."""
        if not isinstance(payload, dict):
            msg = 'send the config as a JSON object, e.g. {"rate_limit_per_s": 50}'
            raise ConfigError(msg)
        known = {f.name for f in fields(self)}
        unknown = sorted(set(payload) - known)
        if unknown:
            msg = f"unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            raise ConfigError(msg)
        changes = {name: _check(name, value) for name, value in payload.items()}
        return replace(self, **changes)


def _check(name: str, value: Any) -> Any:  # noqa: PLR0911 (one branch per key type)
    if name in ("require_traits_on_update", "strict_email", "permission_denied"):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if name == "known_models":
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError("known_models must be null or a list of model ids")
        return tuple(value)
    if name == "rate_limit_burst":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError("rate_limit_burst must be null or an integer >= 1")
        return value
    # rate_limit_per_s, latency_s: non-negative numbers (rate may be null)
    if value is None and name == "rate_limit_per_s":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name} must be a number >= 0")
    if name == "rate_limit_per_s" and value == 0:
        raise ConfigError("rate_limit_per_s must be > 0 (use null to disable the limit)")
    return float(value)
