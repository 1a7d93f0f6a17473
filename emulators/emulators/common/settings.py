"""Typed run-time settings read from JSON, for the emulators' admin APIs and command lines.

A settings class is a dataclass; a `SettingsReader` says what each of its fields accepts and
checks a partial JSON object of changes against that: the payload must be an object, every key
a field, every value what its field accepts. It returns the accepted changes (converted where
a field stores another type than JSON has, e.g. a list kept as a tuple) or raises the caller's
error, naming each wrong key and what it must be ("<key> must be <expected>").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


def is_bool(value: Any) -> bool:
    """JSON true or false."""
    return isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A JSON number (Python's bool is an int, JSON's true is not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_non_negative(value: Any) -> bool:
    """A JSON number >= 0."""
    return is_number(value) and value >= 0


def is_integer(value: Any) -> bool:
    """A JSON number without a fraction."""
    return isinstance(value, int) and not isinstance(value, bool)


def integer_from(least: int) -> Callable[[Any], bool]:
    """The check for a JSON integer >= `least`."""
    return lambda value: is_integer(value) and value >= least


def is_string_list(value: Any) -> bool:
    """A JSON array of strings."""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Check:
    """One condition on a setting's value and, when it fails, what the value must be."""

    holds: Callable[[Any], bool]
    # Completes "<key> must be ...", e.g. "true or false".
    expected: str


@dataclass(frozen=True)
class Setting:
    """What one setting accepts: its checks, tried in order (the first that fails is the one
    reported), whether null is accepted as it is, and how an accepted value is stored."""

    checks: tuple[Check, ...]
    nullable: bool = False
    convert: Callable[[Any], Any] = _unchanged

    @classmethod
    def of(
        cls,
        holds: Callable[[Any], bool],
        expected: str,
        *,
        nullable: bool = False,
        convert: Callable[[Any], Any] = _unchanged,
    ) -> Setting:
        """A setting with a single check."""
        return cls((Check(holds, expected),), nullable=nullable, convert=convert)

    def problem(self, key: str, value: Any) -> str | None:
        """Why `value` is refused for `key`, or None when it is accepted."""
        if value is None and self.nullable:
            return None
        for check in self.checks:
            if not check.holds(value):
                return f"{key} must be {check.expected}"
        return None

    def read(self, value: Any) -> Any:
        """An accepted value as the settings class stores it."""
        return None if value is None and self.nullable else self.convert(value)


BOOLEAN = Setting.of(is_bool, "true or false")


@dataclass(frozen=True)
class SettingsReader:
    """Reads partial JSON objects of changes to the settings dataclass `settings_class`."""

    settings_class: type
    # Every field of `settings_class`, in the order its problems are reported.
    settings: Mapping[str, Setting]
    # The error raised, e.g. the settings module's own ValueError subclass.
    error: type[ValueError]
    # The message for a payload that is not a JSON object.
    not_an_object: str
    # The message for unknown keys, formatted with `unknown` and `known` (comma-separated).
    unknown_keys: str

    def __post_init__(self) -> None:
        declared = {f.name for f in fields(self.settings_class)}
        if declared != set(self.settings):
            msg = f"{self.settings_class.__name__}: settings do not match its fields"
            raise TypeError(msg)

    def changes(self, payload: Any) -> dict[str, Any]:
        """The changes `payload` asks for, checked and converted; raises `error` otherwise."""
        if not isinstance(payload, dict):
            raise self.error(self.not_an_object)
        unknown = sorted(set(payload) - set(self.settings))
        if unknown:
            raise self.error(
                self.unknown_keys.format(
                    unknown=", ".join(unknown), known=", ".join(sorted(self.settings))
                )
            )
        self.check(payload)
        return {key: self.settings[key].read(value) for key, value in payload.items()}

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise `error` naming every refused value of `values` (known keys only)."""
        problems = [
            problem
            for key, setting in self.settings.items()
            if key in values and (problem := setting.problem(key, values[key])) is not None
        ]
        if problems:
            raise self.error("; ".join(problems))


def settings_json(settings: Any) -> dict[str, Any]:
    """A settings dataclass as JSON shows it (tuples as lists)."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(settings).items()
    }
